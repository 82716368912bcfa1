/* Parameters are checked in one place, each bad value refused with a
 * message naming it; defaults are valid; handles are NULL-safe. */
#include "testlib.h"
#include "util.h"

#include <math.h>

typedef void (*mutate_fn)(brl_params *);
#define MUT(name, stmt)                                                        \
  static void name(brl_params *p) { stmt; }
MUT(m_features, p->n_features = 0)
MUT(m_groups0, p->n_groups = 0)
MUT(m_groups9, p->n_groups = 9)
MUT(m_outputs, p->groups[0].n_outputs = 0)
MUT(m_lr, p->groups[0].lr = 0)
MUT(m_lrnan, p->groups[0].lr = NAN)
MUT(m_sched, p->groups[0].schedule = (brl_schedule)7)
MUT(m_sched_len, (p->groups[0].schedule = BRL_SCHEDULE_LINEAR_TREES,
                  p->groups[0].schedule_trees = 0))
MUT(m_lrend, (p->groups[0].schedule = BRL_SCHEDULE_LINEAR_PROGRESS,
              p->groups[0].lr_end = -1))
MUT(m_weight, p->groups[0].score_weight = -1)
MUT(m_depth0, p->max_depth = 0)
MUT(m_depth13, p->max_depth = 13)
MUT(m_minleaf, p->min_data_in_leaf = -1)
MUT(m_bins1, p->n_bins = 1)
MUT(m_bins257, p->n_bins = 257)
MUT(m_grow, p->grow_policy = (brl_grow_policy)5)
MUT(m_score, p->split_score = (brl_split_score)5)
MUT(m_binm, p->bin_method = (brl_bin_method)5)
MUT(m_threads, p->n_threads = -2)
MUT(m_clip, p->clip_nonfinite = 2)
MUT(m_total, p->groups[0].n_outputs = 300)

int main(void) {
  const struct {
    mutate_fn f;
    const char *word;
  } cases[] = {{m_features, "n_features"},
               {m_groups0, "n_groups"},
               {m_groups9, "n_groups"},
               {m_outputs, "n_outputs"},
               {m_lr, "lr"},
               {m_lrnan, "lr"},
               {m_sched, "schedule"},
               {m_sched_len, "schedule_trees"},
               {m_lrend, "lr_end"},
               {m_weight, "score_weight"},
               {m_depth0, "max_depth"},
               {m_depth13, "max_depth"},
               {m_minleaf, "min_data_in_leaf"},
               {m_bins1, "n_bins"},
               {m_bins257, "n_bins"},
               {m_grow, "grow_policy"},
               {m_score, "split_score"},
               {m_binm, "bin_method"},
               {m_threads, "n_threads"},
               {m_clip, "clip_nonfinite"},
               {m_total, "256"}};
  brl_params p;
  brl_params_default(&p, 4, 2);
  CHECK_OK(brl_params_check(&p));
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    brl_params q = p;
    cases[i].f(&q);
    CHECK(brl_params_check(&q) == BRL_EINVAL);
    CHECK_MSG(strstr(brl_last_error(), cases[i].word) != NULL,
              "case %zu: '%s' not in '%s'", i, cases[i].word, brl_last_error());
    brl_model *m = (brl_model *)&p; /* must be overwritten with NULL */
    CHECK(brl_model_create(&q, &m) == BRL_EINVAL);
    CHECK(m == NULL);
  }
  /* NULL handles and arguments. */
  CHECK(brl_params_check(NULL) == BRL_EINVAL);
  CHECK(brl_model_create(&p, NULL) == BRL_EINVAL);
  brl_model_free(NULL);
  brl_model *m = NULL;
  brl_model_free(&m);
  brl_batch_free(NULL);
  CHECK(brl_model_n_trees(NULL) == 0);
  CHECK(brl_model_bytes(NULL) == 0);
  CHECK(strcmp(brl_version(), BRL_VERSION_STRING) == 0);
  CHECK(brl_version_number() == BRL_VERSION_NUMBER);
  CHECK(strcmp(brl_status_name(BRL_EFORMAT), "BRL_EFORMAT") == 0);
  /* Setters validate. */
  CHECK_OK(brl_model_create(&p, &m));
  float w[4] = {1, -1, 1, 1};
  CHECK(brl_model_set_feature_weights(m, w) == BRL_EINVAL);
  float bias[2] = {0, INFINITY};
  CHECK(brl_model_set_bias(m, bias) == BRL_ENUMERIC);
  CHECK(brl_model_set_group_lr(m, 1, 0.1f, 0.1f) == BRL_EINVAL);
  CHECK(brl_model_set_group_lr(m, 0, -0.1f, 0.1f) == BRL_EINVAL);
  CHECK_OK(brl_model_set_group_lr(m, 0, 0.2f, 0.2f));
  CHECK(brl_model_group_lr(m, 0, 0) == 0.2f);
  CHECK(brl_model_truncate(m, 1) == BRL_EINVAL);
  CHECK(brl_model_set_backend(m, BRL_BACKEND_CUDA) ==
        (brl_backend_available(BRL_BACKEND_CUDA) ? BRL_OK : BRL_EUNSUPPORTED));
  CHECK_OK(brl_model_set_backend(m, BRL_BACKEND_CPU));
  brl_batch *b = NULL;
  float X[8] = {0};
  CHECK(brl_batch_create(m, X, 0, &b) == BRL_EINVAL && b == NULL);
  brl_model_free(&m);
  CHECK(m == NULL);
  return brl_test_report("test_params");
}

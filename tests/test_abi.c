/* The stable ABI: option structs carry struct_size (older sizes get the
 * newer fields' defaults, garbage sizes are refused), the calls that write
 * them never write past the caller's size, and brl_params are set and read
 * by name. */
#include "boostrl.h"
#include "core/abi.h"
#include "testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int has(const char *needle) {
  return strstr(brl_last_error(), needle) != NULL;
}

/* ---- the mechanism, on a struct that gained a field in "version 2" ---- */

/* What a program built against the version-1 header has ... */
typedef struct v1_opts {
  size_t struct_size;
  int a;
} v1_opts;
/* ... and the library's version 2, with a field appended. */
typedef struct v2_opts {
  size_t struct_size;
  int a;
  double b; /* new in version 2, default 2.5 */
} v2_opts;

static const brl__abi_struct v2_abi = {"v2_opts", "v2_opts_default",
                                       BRL__END(v2_opts, a), sizeof(v2_opts)};

static void v2_defaults(v2_opts *o) {
  memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->a = 1;
  o->b = 2.5;
}

static void test_older_struct_gets_defaults(void) {
  /* An old program fills its v1 struct through the library's _default
   * (out) into its own smaller size; nothing past it is written. */
  unsigned char mem[sizeof(v2_opts) + 16];
  memset(mem, 0xA5, sizeof mem);
  v2_opts full;
  v2_defaults(&full);
  full.a = 7;
  CHECK_OK(brl__abi_out(&v2_abi, &full, mem, sizeof(v1_opts)));
  v1_opts old;
  memcpy(&old, mem, sizeof old);
  CHECK(old.struct_size == sizeof(v1_opts) && old.a == 7);
  int untouched = 1;
  for (size_t i = sizeof(v1_opts); i < sizeof mem; i++)
    untouched &= mem[i] == 0xA5;
  CHECK(untouched);

  /* It changes a field and passes the struct in: the library takes `a`
   * and gives `b`, which the program does not have, its default. */
  old.a = 42;
  v2_opts in;
  v2_defaults(&in);
  CHECK_OK(brl__abi_in(&v2_abi, &old, &in));
  CHECK(in.a == 42 && in.b == 2.5 && in.struct_size == sizeof(v2_opts));

  /* A current program's struct is taken whole. */
  v2_opts cur;
  v2_defaults(&cur);
  cur.a = 3;
  cur.b = -1.0;
  CHECK_OK(brl__abi_in(&v2_abi, &cur, &in));
  CHECK(in.a == 3 && in.b == -1.0);

  /* Sizes outside [first, lib] are refused, naming the fill function. */
  const size_t bad[] = {0, sizeof(size_t), BRL__END(v2_opts, a) - 1,
                        sizeof(v2_opts) + 1, (size_t)0xdeadbeef};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cur.struct_size = bad[i];
    v2_defaults(&in);
    CHECK(brl__abi_in(&v2_abi, &cur, &in) == BRL_EINVAL);
    CHECK_MSG(has("v2_opts.struct_size") && has("v2_opts_default"), "%s",
              brl_last_error());
    CHECK(in.a == 1); /* untouched */
  }
}

/* ---- the public structs ---- */

/* Each option struct: filled by its _default, struct_size is sizeof; a
 * call taking it refuses garbage sizes with a message naming the struct
 * and its _default function. */
static void test_params_size(void) {
  brl_params p;
  brl_params_default(&p, 2, 1);
  CHECK(p.struct_size == sizeof p);
  brl_model *m = NULL;
  const size_t bad[] = {0, 8, sizeof p + 8, (size_t)-1};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    p.struct_size = bad[i];
    CHECK(brl_model_create(&p, &m) == BRL_EINVAL && m == NULL);
    CHECK_MSG(has("brl_params.struct_size") && has("brl_params_default"), "%s",
              brl_last_error());
    CHECK(brl_params_check(&p) == BRL_EINVAL);
    CHECK(brl_params_set(&p, "max_depth", "3") == BRL_EINVAL);
    CHECK(brl_params_n_outputs(&p) == 0);
  }
  CHECK(strstr(brl_last_error(), "newer boostrl.h") != NULL);
  p.struct_size = sizeof p;
  CHECK_OK(brl_model_create(&p, &m));
  /* brl_model_params writes the caller's size and sets it. */
  brl_params q;
  memset(&q, 0x5A, sizeof q);
  CHECK_OK(brl_model_params(m, &q));
  CHECK(q.struct_size == sizeof q && q.n_features == 2 && q.max_depth == 4);
  brl_model_free(&m);
}

static void test_config_size(void) {
  brl_agent_config c;
  brl_agent_config_default(&c, BRL_ALGO_PPO);
  CHECK(c.struct_size == sizeof c);
  brl_agent_config d;
  int found = 0;
  CHECK_OK(brl_agent_config_preset(&d, "CartPole-v1", BRL_ALGO_PPO, &found));
  CHECK(found && d.struct_size == sizeof d);
  brl_action_space s;
  brl_action_space_default(&s);
  s.kind = BRL_SPACE_DISCRETE;
  s.dim = 1;
  s.nvec[0] = 2;
  brl_agent *a = NULL;
  s.struct_size = sizeof s + 4;
  CHECK(brl_agent_create(&c, 4, &s, 0, &a) == BRL_EINVAL && a == NULL);
  CHECK_MSG(has("brl_action_space.struct_size") &&
                has("brl_action_space_default"),
            "%s", brl_last_error());
  s.struct_size = sizeof s;
  c.struct_size = 3;
  CHECK(brl_agent_create(&c, 4, &s, 0, &a) == BRL_EINVAL && a == NULL);
  CHECK_MSG(has("brl_agent_config.struct_size") &&
                has("brl_agent_config_default"),
            "%s", brl_last_error());
  CHECK(brl_agent_config_check(&c) == BRL_EINVAL);
  CHECK(brl_agent_config_set(&c, "n_envs", "2") == BRL_EINVAL);
  char buf[64];
  CHECK(brl_agent_config_get(&c, "n_envs", buf, sizeof buf) == BRL_EINVAL);
  c.struct_size = sizeof c;
  CHECK_OK(brl_agent_create(&c, 4, &s, 0, &a));
  brl_agent_config e;
  CHECK_OK(brl_agent_get_config(a, &e));
  CHECK(e.struct_size == sizeof e && e.n_envs == c.n_envs);
  brl_action_space t;
  memset(&t, 0x5A, sizeof t);
  CHECK_OK(brl_agent_get_action_space(a, &t));
  CHECK(t.struct_size == sizeof t && t.kind == BRL_SPACE_DISCRETE &&
        t.nvec[0] == 2);
  /* A garbage size is refused, and the agent compresses with the right
   * one. */
  brl_compress_params cp;
  brl_compress_params_default(&cp, 4);
  CHECK(cp.struct_size == sizeof cp && cp.trees == 4 && cp.lr == 1.0);
  float obs[64 * 4];
  for (int i = 0; i < 64 * 4; i++)
    obs[i] = (float)((i * 37) % 11) - 5.0f;
  cp.struct_size = sizeof cp * 2;
  CHECK(brl_agent_compress_obs(a, obs, 64, NULL, 0, &cp, NULL) == BRL_EINVAL);
  CHECK_MSG(has("brl_compress_params.struct_size"), "%s", brl_last_error());
  brl_agent_free(&a);
}

static void test_fit_export_size(void) {
  brl_params p;
  brl_params_default(&p, 1, 1);
  brl_model *m = NULL;
  CHECK_OK(brl_model_create(&p, &m));
  float X[8], y[8];
  for (int i = 0; i < 8; i++) {
    X[i] = (float)i;
    y[i] = i < 4 ? -1.0f : 1.0f;
  }
  brl_fit_params fp;
  brl_fit_params_default(&fp);
  CHECK(fp.struct_size == sizeof fp && fp.iterations == 100);
  fp.iterations = 3;
  fp.struct_size = 1;
  CHECK(brl_fit(m, X, NULL, y, 8, &fp) == BRL_EINVAL);
  CHECK_MSG(has("brl_fit_params.struct_size") && has("brl_fit_params_default"),
            "%s", brl_last_error());
  CHECK(brl_model_n_trees(m) == 0);
  fp.struct_size = sizeof fp;
  CHECK_OK(brl_fit(m, X, NULL, y, 8, &fp));
  CHECK(brl_model_n_trees(m) == 3);

  brl_export_options o;
  brl_export_options_default(&o);
  CHECK(o.struct_size == sizeof o && strcmp(o.name, "brl_model") == 0);
  char *h = NULL, *c = NULL;
  size_t hl, cl;
  o.struct_size = 0;
  CHECK(brl_model_export_c_buffer(m, &o, &h, &hl, &c, &cl, NULL) == BRL_EINVAL);
  CHECK_MSG(has("brl_export_options.struct_size") &&
                has("brl_export_options_default"),
            "%s", brl_last_error());
  o.struct_size = sizeof o;
  CHECK_OK(brl_model_export_c_buffer(m, &o, &h, &hl, &c, &cl, NULL));
  brl_free(h);
  brl_free(c);
  brl_model_free(&m);
}

/* The _sized functions never write past the size they are given (a
 * program built against an older header passes its smaller sizeof). */
static void test_default_writes_only_its_size(void) {
  unsigned char mem[sizeof(brl_params) + 32];
  memset(mem, 0xA5, sizeof mem);
  const size_t first = BRL__END(brl_params, cv_decay);
  brl_params_default_sized((brl_params *)(void *)mem, first, 3, 1);
  int untouched = 1;
  for (size_t i = first; i < sizeof mem; i++)
    untouched &= mem[i] == 0xA5;
  CHECK(untouched);
  brl_params p;
  memcpy(&p, mem, sizeof p);
  CHECK(p.struct_size == first && p.n_features == 3);
  /* A size the library does not take is recorded, so the next call
   * refuses the struct instead of reading garbage. */
  brl_params_default_sized(&p, sizeof p + 64, 3, 1);
  CHECK(brl_params_check(&p) == BRL_EINVAL);
}

/* Bindings that lay the structs out themselves ask for the sizes. */
static void test_struct_sizes(void) {
  CHECK(brl_abi_struct_size("brl_params") == sizeof(brl_params));
  CHECK(brl_abi_struct_size("brl_agent_config") == sizeof(brl_agent_config));
  CHECK(brl_abi_struct_size("brl_fit_params") == sizeof(brl_fit_params));
  CHECK(brl_abi_struct_size("brl_export_options") ==
        sizeof(brl_export_options));
  CHECK(brl_abi_struct_size("brl_compress_params") ==
        sizeof(brl_compress_params));
  CHECK(brl_abi_struct_size("brl_action_space") == sizeof(brl_action_space));
  CHECK(brl_abi_struct_size("brl_comm_ops") == sizeof(brl_comm_ops));
  CHECK(brl_abi_struct_size("brl_agent_stats") == 0);
  CHECK(brl_abi_struct_size(NULL) == 0);
}

/* ---- brl_params by name ---- */

static void test_params_by_name(void) {
  brl_params p, q;
  brl_params_default(&p, 5, 2);
  CHECK_OK(brl_params_set(&p, "max_depth", "6"));
  CHECK_OK(brl_params_set(&p, "grow_policy", "greedy"));
  CHECK_OK(brl_params_set(&p, "split_score", "L2"));
  CHECK_OK(brl_params_set(&p, "optimizer", "adam"));
  CHECK_OK(brl_params_set(&p, "adam_beta1", "0.8"));
  CHECK_OK(brl_params_set(&p, "clip_nonfinite", "true"));
  CHECK_OK(brl_params_set(&p, "n_groups", "2"));
  CHECK_OK(brl_params_set(&p, "groups[1].n_outputs", "1"));
  CHECK_OK(brl_params_set(&p, "groups[1].lr", "0.25"));
  CHECK_OK(brl_params_set(&p, "groups[1].schedule", "linear_trees"));
  CHECK_OK(brl_params_set(&p, "groups[1].schedule_trees", "10"));
  CHECK_OK(brl_params_set(&p, "groups[1].lr_end", "0.125"));
  CHECK(p.max_depth == 6 && p.grow_policy == BRL_GROW_GREEDY &&
        p.split_score == BRL_SCORE_L2 && p.optimizer == BRL_OPTIMIZER_ADAM &&
        p.adam_beta1 == 0.8f && p.clip_nonfinite == 1 && p.n_groups == 2 &&
        p.groups[1].n_outputs == 1 && p.groups[1].lr == 0.25f &&
        p.groups[1].schedule == BRL_SCHEDULE_LINEAR_TREES &&
        p.groups[1].schedule_trees == 10);
  CHECK_OK(brl_params_check(&p));

  /* Every key reads back exactly what it wrote: copying key by key
   * through text gives the same struct (the groups past n_groups are
   * zeros in both, which no group key takes). */
  brl_params_default(&q, 1, 1);
  int n_keys = 0;
  char buf[64];
  for (const char *const *k = brl_params_keys(); *k; k++, n_keys++) {
    if (strncmp(*k, "groups[", 7) == 0 && (*k)[7] - '0' >= p.n_groups)
      continue;
    CHECK_OK(brl_params_get(&p, *k, buf, sizeof buf));
    CHECK_OK(brl_params_set(&q, *k, buf));
    CHECK(brl_params_key_help(*k) != NULL);
  }
  CHECK(n_keys == 17 + 6 * BRL_MAX_GROUPS);
  CHECK(memcmp(&p, &q, sizeof p) == 0);

  /* Errors name the key and what it takes; the struct is unchanged. */
  q = p;
  CHECK(brl_params_set(&p, "max_dept", "3") == BRL_EINVAL);
  CHECK_MSG(has("unknown parameter 'max_dept'"), "%s", brl_last_error());
  CHECK(brl_params_set(&p, "max_depth", "13") == BRL_EINVAL);
  CHECK_MSG(has("max_depth = 13 is out of range: use 1 to 12"), "%s",
            brl_last_error());
  CHECK(brl_params_set(&p, "max_depth", "2.5") == BRL_EINVAL);
  CHECK_MSG(has("whole number"), "%s", brl_last_error());
  CHECK(brl_params_set(&p, "grow_policy", "deep") == BRL_EINVAL);
  CHECK_MSG(has("grow_policy = 'deep': use oblivious or greedy"), "%s",
            brl_last_error());
  CHECK(brl_params_set(&p, "adam_beta2", "1") == BRL_EINVAL);
  CHECK_MSG(has("adam_beta2 = 1 is out of range: use a value >= 0 and < 1"),
            "%s", brl_last_error());
  CHECK(brl_params_set(&p, "groups[0].lr", "0") == BRL_EINVAL);
  CHECK_MSG(has("groups[0].lr = 0 is out of range: use a value > 0"), "%s",
            brl_last_error());
  CHECK(brl_params_set(&p, "groups[0].lr", "1e39") == BRL_EINVAL);
  CHECK(brl_params_set(&p, "groups[8].lr", "0.1") == BRL_EINVAL);
  CHECK(brl_params_set(&p, "groups[1].schedule", "cosine") == BRL_EINVAL);
  CHECK_MSG(has("use constant, linear_trees or linear_progress"), "%s",
            brl_last_error());
  CHECK(brl_params_set(&p, "n_bins", "nan") == BRL_EINVAL);
  CHECK(memcmp(&p, &q, sizeof p) == 0);
  CHECK(brl_params_get(&p, "n_bins", buf, 8) == BRL_EINVAL);
  CHECK(brl_params_set(NULL, "n_bins", "8") == BRL_EINVAL);

  /* Set by name or by field: the same model. */
  brl_params a, b;
  brl_params_default(&a, 3, 1);
  brl_params_default(&b, 3, 1);
  a.max_depth = 2;
  a.n_bins = 16;
  a.groups[0].lr = 0.5f;
  CHECK_OK(brl_params_set(&b, "max_depth", "2"));
  CHECK_OK(brl_params_set(&b, "n_bins", "16"));
  CHECK_OK(brl_params_set(&b, "groups[0].lr", "0.5"));
  CHECK(memcmp(&a, &b, sizeof a) == 0);
}

int main(void) {
  test_older_struct_gets_defaults();
  test_params_size();
  test_config_size();
  test_fit_export_size();
  test_default_writes_only_its_size();
  test_struct_sizes();
  test_params_by_name();
  return brl_test_report("test_abi");
}

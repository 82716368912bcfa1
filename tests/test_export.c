/* Export to C: the generated NAME.h / NAME.c compile with
 * `-std=c99 -Wall -Wextra -Werror -pedantic` under gcc (and clang when
 * present), include nothing beyond <stdint.h> (<math.h> only for infinite
 * thresholds) and allocate nothing. Compiled with a generated main and run
 * on 10,000 random inputs (missing values, unseen and missing categories):
 * float32 outputs equal the library's (rel. error <= 1e-5; in fact
 * identical) for oblivious, greedy (pass-through nodes), categorical-only,
 * mixed-kind and empty models, with a frozen observation normalisation;
 * NAME_act_discrete is the argmax of the logits and NAME_act the clipped
 * mean; the int32 and int16 fixed-point variants stay close to float32 and
 * pick the same discrete action on >= 99.9% of 10,000 states of a trained
 * classifier. Skipped (passing) when gcc is not installed. */
#define _POSIX_C_SOURCE 200809L
#include "testlib.h"
#include "util.h"

#include "core/text.h"
#include "engine/model.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

#define N_ROWS 10000

static char tmp_dir[256];
static int have_clang;

static int run(const char *cmd) {
  int rc = system(cmd);
  return rc;
}

static int have(const char *cc) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "%s --version >/dev/null 2>&1", cc);
  return run(cmd) == 0;
}

typedef struct harness {
  const char *name;
  int D, C, K;
  brl_export_action action;
  int action_dim; /* discrete: number of actions; continuous: length */
} harness;

/* Floats NAME_act writes. */
static int act_len(const harness *h) {
  return h->action == BRL_EXPORT_ACTION_NONE       ? 0
         : h->action == BRL_EXPORT_ACTION_DISCRETE ? 1
                                                   : h->action_dim;
}

/* A main that reads rows (D floats, C codes) and writes the outputs, the
 * discrete action and the action vector of every row. */
static void write_main(const harness *h) {
  char path[512];
  snprintf(path, sizeof path, "%s/main_%s.c", tmp_dir, h->name);
  FILE *f = fopen(path, "w");
  if (!f)
    return;
  fprintf(f,
          "#include \"%s.h\"\n#include <stdio.h>\n"
          "int main(int argc, char **argv) {\n"
          "  FILE *in, *out;\n  int n, i;\n"
          "  if (argc < 3) return 2;\n"
          "  in = fopen(argv[1], \"rb\");\n  out = fopen(argv[2], \"wb\");\n"
          "  if (!in || !out || fread(&n, sizeof n, 1, in) != 1) return 3;\n"
          "  for (i = 0; i < n; ++i) {\n"
          "    float x[%d], y[%d];\n    int32_t c[%d];\n",
          h->name, h->D ? h->D : 1, h->K, h->C ? h->C : 1);
  fprintf(f,
          "    if (fread(x, sizeof(float), %d, in) != %d) return 4;\n"
          "    if (fread(c, sizeof(int32_t), %d, in) != %d) return 4;\n"
          "    %s_predict(x, %s, y);\n"
          "    fwrite(y, sizeof(float), %d, out);\n",
          h->D, h->D, h->C, h->C, h->name, h->C ? "c" : "NULL", h->K);
  if (h->action == BRL_EXPORT_ACTION_DISCRETE)
    fprintf(f,
            "    { int32_t a = %s_act_discrete(x, %s);\n"
            "      fwrite(&a, sizeof a, 1, out); }\n",
            h->name, h->C ? "c" : "NULL");
  if (h->action != BRL_EXPORT_ACTION_NONE)
    fprintf(f,
            "    { float a[%d];\n      %s_act(x, %s, a);\n"
            "      fwrite(a, sizeof(float), %d, out); }\n",
            act_len(h), h->name, h->C ? "c" : "NULL", act_len(h));
  fprintf(f, "  }\n  fclose(out);\n  fclose(in);\n  return 0;\n}\n");
  fclose(f);
}

/* Per row: K outputs, then the discrete action (as int32), then the action
 * vector. */
static int row_floats(const harness *h) {
  return h->K + (h->action == BRL_EXPORT_ACTION_DISCRETE) + act_len(h);
}

static void write_inputs(const harness *h, const float *X, const int32_t *Xc,
                         int n) {
  char path[512];
  snprintf(path, sizeof path, "%s/in_%s.bin", tmp_dir, h->name);
  FILE *f = fopen(path, "wb");
  if (!f)
    return;
  fwrite(&n, sizeof n, 1, f);
  for (int i = 0; i < n; i++) {
    if (h->D)
      fwrite(X + (int64_t)i * h->D, sizeof(float), (size_t)h->D, f);
    if (h->C)
      fwrite(Xc + (int64_t)i * h->C, sizeof(int32_t), (size_t)h->C, f);
  }
  fclose(f);
}

/* Exports, checks the texts, compiles with cc, runs; returns the outputs
 * (n x row_floats, malloc'd) or NULL. */
static float *export_and_run(const brl_model *m, const brl_export_options *o,
                             const harness *h, const char *cc, int n) {
  brl_export_info info;
  int rc = brl_model_export_c(m, o, tmp_dir, &info);
  CHECK_MSG(rc == 0, "%s: export -> %d (%s)", h->name, rc, brl_last_error());
  if (rc)
    return NULL;
  CHECK(info.table_bytes > 0 && info.stack_bytes > 0);
  /* Includes and allocation. */
  char *hdr, *src;
  CHECK_OK(brl_model_export_c_buffer(m, o, &hdr, NULL, &src, NULL, NULL));
  int bad = 0, n_inc = 0;
  for (const char *p = src; (p = strstr(p, "#include")); p++) {
    char want[96];
    snprintf(want, sizeof want, "#include \"%s.h\"", h->name);
    n_inc++;
    bad += strncmp(p, want, strlen(want)) != 0 &&
           !(info.has_math && strncmp(p, "#include <math.h>", 17) == 0);
  }
  for (const char *p = hdr; (p = strstr(p, "#include")); p++)
    bad += strncmp(p, "#include <stdint.h>", 19) != 0;
  bad += strstr(src, "malloc") != NULL || strstr(src, "<stdlib.h>") != NULL;
  CHECK_MSG(!bad && n_inc == 1 + info.has_math, "%s: unexpected includes",
            h->name);
  char macro[96];
  snprintf(macro, sizeof macro, "_TABLE_BYTES %lu",
           (unsigned long)info.table_bytes);
  CHECK(strstr(hdr, macro) != NULL);
  brl_free(hdr);
  brl_free(src);
  write_main(h);
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "cd %s && %s -std=c99 -Wall -Wextra -Werror -pedantic -O1 -c "
           "%s.c -o %s_%s.o > cc_%s.log 2>&1 && %s -std=c99 -O1 -o prog_%s "
           "main_%s.c %s_%s.o -lm >> cc_%s.log 2>&1",
           tmp_dir, cc, h->name, h->name, cc, h->name, cc, h->name, h->name,
           h->name, cc, h->name);
  rc = run(cmd);
  CHECK_MSG(rc == 0, "%s: %s failed to compile the export (see %s/cc_%s.log)",
            h->name, cc, tmp_dir, h->name);
  if (rc) {
    snprintf(cmd, sizeof cmd, "cat %s/cc_%s.log >&2", tmp_dir, h->name);
    run(cmd);
    return NULL;
  }
  snprintf(cmd, sizeof cmd, "cd %s && ./prog_%s in_%s.bin out_%s.bin", tmp_dir,
           h->name, h->name, h->name);
  rc = run(cmd);
  CHECK_MSG(rc == 0, "%s: the compiled program failed (%d)", h->name, rc);
  if (rc)
    return NULL;
  const int rf = row_floats(h);
  float *out = malloc(sizeof(float) * (size_t)n * (size_t)rf);
  snprintf(cmd, sizeof cmd, "%s/out_%s.bin", tmp_dir, h->name);
  FILE *f = fopen(cmd, "rb");
  size_t got = f ? fread(out, sizeof(float), (size_t)n * (size_t)rf, f) : 0;
  if (f)
    fclose(f);
  CHECK(got == (size_t)n * (size_t)rf);
  if (got != (size_t)n * (size_t)rf) {
    free(out);
    return NULL;
  }
  return out;
}

/* What the exported code computes, from the library: normalise, predict,
 * then the actions. ref: n x row_floats. */
static float *reference(const brl_model *m, const brl_export_options *o,
                        const harness *h, const float *X, const int32_t *Xc,
                        int n) {
  const int D = h->D, K = h->K, rf = row_floats(h);
  float *xn = malloc(sizeof(float) * (size_t)n * (size_t)(D ? D : 1));
  for (int64_t i = 0; i < (int64_t)n * D; i++) {
    float v = X[i];
    if (o->obs_mean) {
      int j = (int)(i % D);
      v = (v - o->obs_mean[j]) / o->obs_std[j];
      if (o->obs_clip > 0) {
        if (v > o->obs_clip)
          v = o->obs_clip;
        else if (v < -o->obs_clip)
          v = -o->obs_clip;
      }
    }
    xn[i] = v;
  }
  float *pred = malloc(sizeof(float) * (size_t)n * (size_t)K);
  CHECK_OK(brl_model_predict_cat(m, D ? xn : NULL, h->C ? Xc : NULL, n, 0, -1,
                                 pred));
  float *ref = malloc(sizeof(float) * (size_t)n * (size_t)rf);
  for (int i = 0; i < n; i++) {
    float *r = ref + (int64_t)i * rf;
    const float *p = pred + (int64_t)i * K;
    memcpy(r, p, sizeof(float) * (size_t)K);
    int c = K;
    if (h->action == BRL_EXPORT_ACTION_DISCRETE) {
      int best = 0;
      for (int a = 1; a < h->action_dim; a++)
        if (p[o->action_offset + a] > p[o->action_offset + best])
          best = a;
      int32_t b32 = best;
      memcpy(&r[c++], &b32, sizeof b32);
      r[c++] = (float)best;
    } else if (h->action == BRL_EXPORT_ACTION_CONTINUOUS) {
      for (int j = 0; j < h->action_dim; j++) {
        float v = p[o->action_offset + j];
        if (o->action_low && v < o->action_low[j])
          v = o->action_low[j];
        if (o->action_high && v > o->action_high[j])
          v = o->action_high[j];
        r[c++] = v;
      }
    }
  }
  free(xn);
  free(pred);
  return ref;
}

/* Compares the float32 export with the library (every float of every row,
 * discrete actions bit for bit). */
static void check_float32(const brl_model *m, brl_export_options *o, harness *h,
                          const float *X, const int32_t *Xc, int n) {
  o->variant = BRL_EXPORT_FLOAT32;
  write_inputs(h, X, Xc, n);
  float *ref = reference(m, o, h, X, Xc, n);
  const char *ccs[2] = {"gcc", "clang"};
  for (int c = 0; c < 1 + have_clang; c++) {
    float *got = export_and_run(m, o, h, ccs[c], n);
    if (!got)
      continue;
    const int rf = row_floats(h);
    double worst = 0;
    int64_t exact = 0;
    for (int64_t i = 0; i < (int64_t)n * rf; i++) {
      double a = got[i], b = ref[i];
      exact += memcmp(&got[i], &ref[i], sizeof(float)) == 0;
      double err = fabs(a - b) / fmax(fabs(b), 1e-6);
      if (err > worst || err != err)
        worst = err != err ? INFINITY : err;
    }
    CHECK_MSG(worst <= 1e-5, "%s (%s): float32 rel. error %.3g", h->name,
              ccs[c], worst);
    CHECK_MSG(exact == (int64_t)n * rf, "%s (%s): %lld of %lld floats differ",
              h->name, ccs[c], (long long)((int64_t)n * rf - exact),
              (long long)((int64_t)n * rf));
    free(got);
  }
  free(ref);
}

/* Fixed-point variants: compile with both compilers, outputs close to the
 * library's on >= min_close of the rows; returns the share of rows with the
 * same discrete action. */
static double check_fixed_share(const brl_model *m, brl_export_options *o,
                                harness *h, const float *X, const int32_t *Xc,
                                int n, brl_export_variant v, double tol,
                                double min_close) {
  o->variant = v;
  write_inputs(h, X, Xc, n);
  float *ref = reference(m, o, h, X, Xc, n);
  const char *ccs[2] = {"gcc", "clang"};
  double agree = -1;
  for (int c = 0; c < 1 + have_clang; c++) {
    float *got = export_and_run(m, o, h, ccs[c], n);
    if (!got)
      continue;
    const int rf = row_floats(h);
    int close = 0, same = 0;
    for (int i = 0; i < n; i++) {
      const float *g = got + (int64_t)i * rf, *r = ref + (int64_t)i * rf;
      int ok = 1;
      for (int k = 0; k < h->K; k++)
        ok &= fabs((double)g[k] - r[k]) <= tol * (1 + fabs((double)r[k]));
      close += ok;
      if (h->action == BRL_EXPORT_ACTION_DISCRETE)
        same += memcmp(&g[h->K], &r[h->K], sizeof(float)) == 0;
    }
    CHECK_MSG(close >= min_close * n,
              "%s (%s, variant %d): %d of %d rows close", h->name, ccs[c],
              (int)v, close, n);
    agree = (double)same / n;
    free(got);
  }
  free(ref);
  return agree;
}

static double check_fixed(const brl_model *m, brl_export_options *o, harness *h,
                          const float *X, const int32_t *Xc, int n,
                          brl_export_variant v, double tol) {
  return check_fixed_share(m, o, h, X, Xc, n, v, tol, 0.99);
}

/* n rows whose every feature lies on a split threshold of that feature, one
 * float step below or above it, or is missing (2%): the fixed-point variants
 * must route them exactly as float32 does. */
static float *threshold_rows(brl_rng *r, const brl_model *m, int n) {
  const brl_trees *T = &m->trees;
  const int D = m->p.n_features;
  const int64_t NS = T->n ? T->split_off[T->n] : 0;
  float *X = malloc(sizeof(float) * (size_t)n * (size_t)D + 1);
  for (int64_t i = 0; i < (int64_t)n * D; i++) {
    const int j = (int)(i % D);
    float v = NAN;
    for (int tries = 0; tries < 1000 && v != v && NS > 0; tries++) {
      const int64_t sp = (int64_t)brl_rng_below(r, (uint64_t)NS);
      if (BRL_SPLIT_FEATURE(T->split[sp]) == j &&
          !(BRL_SPLIT_FLAGS(T->split[sp]) & (BRL_SPLIT_PASS | BRL_SPLIT_CAT)))
        v = T->threshold[sp];
    }
    const uint64_t k = brl_rng_below(r, 50);
    if (k == 0)
      v = NAN;
    else if (k % 3 == 1)
      v = nextafterf(v, INFINITY);
    else if (k % 3 == 2)
      v = nextafterf(v, -INFINITY);
    X[i] = v;
  }
  return X;
}

static int32_t *rand_codes(brl_rng *r, int64_t n, int c, int levels) {
  int32_t *x = malloc(sizeof(int32_t) * (size_t)(n * c + 1));
  for (int64_t i = 0; i < n * c; i++)
    x[i] = brl_rng_uniform(r) < 0.1 ? -1 : (int32_t)brl_rng_below(r, levels);
  return x;
}

static brl_model *grow_cat(const brl_params *p, const float *X,
                           const int32_t *Xc, int64_t n, int steps,
                           uint64_t seed) {
  brl_model *m = NULL;
  brl_batch *b = NULL;
  if (brl_model_create(p, &m) || brl_batch_create_cat(m, X, Xc, n, &b))
    return NULL;
  brl_rng r;
  brl_rng_seed(&r, seed);
  const int K = brl_model_n_outputs(m), D = p->n_features;
  float *g = malloc(sizeof(float) * (size_t)(n * K));
  for (int s = 0; s < steps; s++) {
    for (int64_t i = 0; i < n; i++)
      for (int k = 0; k < K; k++) {
        float sig = D > 0 && !isnan(X[i * D]) ? X[i * D] : 0.0f;
        if (p->n_cat_features && Xc[i * p->n_cat_features] == 1)
          sig += 1.0f;
        g[i * K + k] = (float)brl_rng_normal(&r) + (k % 2 ? -sig : sig);
      }
    if (brl_model_step(m, b, NULL, n, g, (float)s / (float)steps)) {
      brl_model_free(&m);
      break;
    }
  }
  free(g);
  brl_batch_free(&b);
  return m;
}

/* Copies every tree of src to the end of dst (same parameters). */
static void append_all(brl_model *dst, const brl_model *src) {
  const brl_trees *T = &src->trees;
  const int K = src->n_outputs;
  for (int t = 0; t < T->n; t++)
    CHECK_OK(brl__model_append_tree(
        dst, T->depth[t], T->flags[t] & BRL_TREE_OBLIVIOUS,
        T->split + T->split_off[t], T->threshold + T->split_off[t],
        T->gain + T->split_off[t], T->value + (int64_t)T->leaf_off[t] * K,
        T->cover + T->leaf_off[t], NULL));
}

static void random_models(void) {
  brl_rng r;
  brl_rng_seed(&r, 99);
  const int n_train = 400, n = N_ROWS;
  /* A: oblivious, numeric, normalisation with clipping, discrete action on
   * the first two of three outputs. */
  {
    const int D = 5;
    float *X = rand_matrix(&r, n_train, D, 0.1);
    brl_params p;
    brl_params_default(&p, D, 2);
    p.n_groups = 2;
    p.groups[1] = p.groups[0];
    p.groups[1].n_outputs = 1;
    p.max_depth = 6;
    brl_model *m = grow_random(&p, X, n_train, 60, 1);
    float mean[5] = {0.5f, -1, 0, 2, 0.1f}, sd[5] = {2, 0.5f, 1, 3, 0.7f};
    float *Xt = rand_matrix(&r, n, D, 0.05);
    for (int64_t i = 0; i < (int64_t)n * D; i++)
      Xt[i] = Xt[i] * sd[i % D] * 1.5f + mean[i % D];
    brl_export_options o;
    brl_export_options_default(&o);
    o.name = "obl_policy";
    o.obs_mean = mean;
    o.obs_std = sd;
    o.obs_clip = 2.5f;
    o.action = BRL_EXPORT_ACTION_DISCRETE;
    o.action_dim = 2;
    harness h = {"obl_policy", D, 0, 3, o.action, 2};
    check_float32(m, &o, &h, Xt, NULL, n);
    check_fixed(m, &o, &h, Xt, NULL, n, BRL_EXPORT_INT32, 1e-4);
    check_fixed(m, &o, &h, Xt, NULL, n, BRL_EXPORT_INT16, 2e-2);
    free(X);
    free(Xt);
    brl_model_free(&m);
  }
  /* B: greedy with pass-through nodes and categorical features, a
   * continuous action of two dimensions with bounds. */
  {
    const int D = 3, C = 2;
    float *X = rand_matrix(&r, n_train, D, 0.1);
    int32_t *Xc = rand_codes(&r, n_train, C, 4);
    brl_params p;
    brl_params_default(&p, D, 3);
    p.grow_policy = BRL_GROW_GREEDY;
    p.max_depth = 6;
    p.n_cat_features = C;
    brl_model *m = grow_cat(&p, X, Xc, n_train, 50, 2);
    int n_pass = 0, n_cat = 0;
    for (int64_t i = 0; i < m->trees.split_off[m->trees.n]; i++) {
      n_pass += (BRL_SPLIT_FLAGS(m->trees.split[i]) & BRL_SPLIT_PASS) != 0;
      n_cat += (BRL_SPLIT_FLAGS(m->trees.split[i]) & BRL_SPLIT_CAT) != 0;
    }
    CHECK(n_pass > 0 && n_cat > 0);
    float *Xt = rand_matrix(&r, n, D, 0.1);
    int32_t *Xct = rand_codes(&r, n, C, 7); /* codes 4..6 are unseen */
    brl_export_options o;
    brl_export_options_default(&o);
    o.name = "greedy_cat";
    o.action = BRL_EXPORT_ACTION_CONTINUOUS;
    o.action_offset = 1;
    o.action_dim = 2;
    const float lo[2] = {-0.05f, -INFINITY}, hi[2] = {0.05f, 0.02f};
    o.action_low = lo;
    o.action_high = hi;
    harness h = {"greedy_cat", D, C, 3, o.action, 2};
    check_float32(m, &o, &h, Xt, Xct, n);
    check_fixed(m, &o, &h, Xt, Xct, n, BRL_EXPORT_INT32, 1e-4);
    check_fixed(m, &o, &h, Xt, Xct, n, BRL_EXPORT_INT16, 2e-2);
    /* C: categorical features only. */
    brl_params pc = p;
    pc.n_features = 0;
    brl_model *mc = grow_cat(&pc, NULL, Xc, n_train, 30, 3);
    CHECK(mc != NULL);
    brl_export_options oc;
    brl_export_options_default(&oc);
    oc.name = "cat_only";
    oc.action = BRL_EXPORT_ACTION_DISCRETE;
    oc.action_dim = 3;
    harness hc = {"cat_only", 0, C, 3, oc.action, 3};
    check_float32(mc, &oc, &hc, NULL, Xct, n);
    check_fixed(mc, &oc, &hc, NULL, Xct, n, BRL_EXPORT_INT16, 2e-2);
    brl_model_free(&mc);
    /* D: oblivious and greedy trees in one model, a depth-0 tree and
     * infinite thresholds (the source then needs <math.h>). */
    brl_params po = p;
    po.grow_policy = BRL_GROW_OBLIVIOUS;
    brl_model *mo = grow_cat(&po, X, Xc, n_train, 20, 4);
    brl_model *mix;
    CHECK_OK(brl_model_create(&p, &mix));
    append_all(mix, mo);
    append_all(mix, m);
    float v0[3] = {0.25f, -0.5f, 1}, c0[1] = {1};
    CHECK_OK(brl__model_append_tree(mix, 0, 1, NULL, NULL, NULL, v0, c0, NULL));
    uint32_t sp[1] = {BRL_SPLIT_PACK(1, 0)};
    float th[1] = {INFINITY}, g[1] = {0}, v1[6] = {1, 2, 3, 4, 5, 6},
          c1[2] = {1, 1};
    CHECK_OK(brl__model_append_tree(mix, 1, 1, sp, th, g, v1, c1, NULL));
    th[0] = -INFINITY;
    sp[0] = BRL_SPLIT_PACK(2, BRL_SPLIT_DEFAULT_LEFT);
    CHECK_OK(brl__model_append_tree(mix, 1, 0, sp, th, g, v1, c1, NULL));
    for (int i = 0; i < 40; i++) /* infinite inputs too */
      Xt[i * D + i % D] = i % 2 ? INFINITY : -INFINITY;
    brl_export_options om;
    brl_export_options_default(&om);
    om.name = "mixed";
    harness hm = {"mixed", D, C, 3, BRL_EXPORT_ACTION_NONE, 0};
    check_float32(mix, &om, &hm, Xt, Xct, n);
    check_fixed(mix, &om, &hm, Xt, Xct, n, BRL_EXPORT_INT32, 1e-4);
    check_fixed(mix, &om, &hm, Xt, Xct, n, BRL_EXPORT_INT16, 2e-2);
    /* E: no trees. */
    brl_model *e;
    CHECK_OK(brl_model_create(&p, &e));
    const float bias[3] = {1.5f, -2, 0.125f};
    CHECK_OK(brl_model_set_bias(e, bias));
    om.name = "empty";
    harness he = {"empty", D, C, 3, BRL_EXPORT_ACTION_NONE, 0};
    check_float32(e, &om, &he, Xt, Xct, 100);
    check_fixed(e, &om, &he, Xt, Xct, 100, BRL_EXPORT_INT16, 1e-4);
    brl_model_free(&e);
    brl_model_free(&mix);
    brl_model_free(&mo);
    brl_model_free(&m);
    free(X);
    free(Xc);
    free(Xt);
    free(Xct);
  }
}

/* A classifier trained on a synthetic 3-class problem: the fixed-point
 * variants pick the float32 action on >= 99.9% of states. */
static void classifier(void) {
  brl_rng r;
  brl_rng_seed(&r, 123);
  const int D = 4, K = 3, n_train = 3000, n = N_ROWS;
  float *X = rand_matrix(&r, n_train, D, 0.0);
  float *y = calloc((size_t)n_train * K, sizeof(float));
  for (int i = 0; i < n_train; i++) {
    const float *x = X + i * D;
    double s[3] = {x[0] + 0.5 * x[1], -x[0] + x[2] * x[3],
                   0.8 * x[1] - x[2] + 0.3 * brl_rng_normal(&r)};
    int c = s[0] > s[1] ? (s[0] > s[2] ? 0 : 2) : (s[1] > s[2] ? 1 : 2);
    y[i * K + c] = 1.0f;
  }
  for (int policy = 0; policy < 2; policy++) {
    brl_params p;
    brl_params_default(&p, D, K);
    p.max_depth = 4;
    p.grow_policy = policy ? BRL_GROW_GREEDY : BRL_GROW_OBLIVIOUS;
    p.groups[0].lr = 0.1f;
    brl_model *m;
    CHECK_OK(brl_model_create(&p, &m));
    brl_fit_params fp;
    brl_fit_params_default(&fp);
    fp.iterations = 150;
    CHECK_OK(brl_fit(m, X, NULL, y, n_train, &fp));
    float *Xt = rand_matrix(&r, n, D, 0.0);
    brl_export_options o;
    brl_export_options_default(&o);
    o.name = policy ? "clf_greedy" : "clf_obl";
    o.action = BRL_EXPORT_ACTION_DISCRETE;
    o.action_dim = K;
    harness h = {o.name, D, 0, K, o.action, K};
    check_float32(m, &o, &h, Xt, NULL, n);
    double a32 = check_fixed(m, &o, &h, Xt, NULL, n, BRL_EXPORT_INT32, 1e-4);
    double a16 = check_fixed(m, &o, &h, Xt, NULL, n, BRL_EXPORT_INT16, 1e-2);
    CHECK_MSG(a32 >= 0.999, "%s: int32 agrees on %.4f of the actions", o.name,
              a32);
    CHECK_MSG(a16 >= 0.999, "%s: int16 agrees on %.4f of the actions", o.name,
              a16);
    fprintf(stderr, "%s: int32 agrees on %.4f, int16 on %.4f\n", o.name, a32,
            a16);
    /* On the thresholds' edges every int32 row stays close (exact routing:
     * another branch would change the outputs by a whole leaf). */
    float *Xe = threshold_rows(&r, m, n);
    double e32 =
        check_fixed_share(m, &o, &h, Xe, NULL, n, BRL_EXPORT_INT32, 1e-4, 1.0);
    double e16 =
        check_fixed_share(m, &o, &h, Xe, NULL, n, BRL_EXPORT_INT16, 1e-2, 0.99);
    CHECK_MSG(e32 >= 0.999 && e16 >= 0.999,
              "%s: on thresholds int32 agrees on %.4f, int16 on %.4f", o.name,
              e32, e16);
    fprintf(stderr, "%s: on thresholds int32 agrees on %.4f, int16 on %.4f\n",
            o.name, e32, e16);
    free(Xe);
    free(Xt);
    brl_model_free(&m);
  }
  free(X);
  free(y);
}

static void errors(void) {
  brl_params p;
  brl_params_default(&p, 2, 3);
  brl_model *m;
  CHECK_OK(brl_model_create(&p, &m));
  brl_export_options o;
  brl_export_options_default(&o);
  char *h, *c;
  CHECK_OK(brl_model_export_c_buffer(m, NULL, &h, NULL, &c, NULL, NULL));
  CHECK(strstr(h, "void brl_model_predict(") != NULL);
  brl_free(h);
  brl_free(c);
  const char *bad_names[] = {"", "9lives", "a-b", "has space", NULL};
  for (int i = 0; bad_names[i]; i++) {
    o.name = bad_names[i];
    CHECK(brl_model_export_c_buffer(m, &o, &h, NULL, &c, NULL, NULL) ==
          BRL_EINVAL);
  }
  o.name = "ok";
  o.action = BRL_EXPORT_ACTION_DISCRETE;
  o.action_offset = 2;
  o.action_dim = 2;
  CHECK(brl_model_export_c_buffer(m, &o, &h, NULL, &c, NULL, NULL) ==
        BRL_EINVAL);
  o.action = BRL_EXPORT_ACTION_NONE;
  float mean[2] = {0, 0}, sd[2] = {1, 0};
  o.obs_mean = mean;
  CHECK(brl_model_export_c_buffer(m, &o, &h, NULL, &c, NULL, NULL) ==
        BRL_EINVAL);
  o.obs_std = sd;
  CHECK(brl_model_export_c_buffer(m, &o, &h, NULL, &c, NULL, NULL) ==
        BRL_EINVAL);
  o.obs_mean = o.obs_std = NULL;
  o.variant = (brl_export_variant)7;
  CHECK(brl_model_export_c_buffer(m, &o, &h, NULL, &c, NULL, NULL) ==
        BRL_EINVAL);
  o.variant = BRL_EXPORT_FLOAT32;
  CHECK(brl_model_export_c(m, &o, "/nonexistent/dir", NULL) == BRL_EIO);
  brl_model_free(&m);
  p.optimizer = BRL_OPTIMIZER_ADAM;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK(brl_model_export_c_buffer(m, &o, &h, NULL, &c, NULL, NULL) ==
        BRL_EUNSUPPORTED);
  CHECK(strstr(brl_last_error(), "Adam") != NULL);
  brl_model_free(&m);
}

int main(void) {
  errors();
  if (!have("gcc")) {
    printf("test_export: gcc not found, skipping the compile tests\n");
    return brl_test_report("test_export");
  }
  have_clang = have("clang");
  const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(tmp_dir, sizeof tmp_dir, "%s/brl_export_XXXXXX", base);
  if (!mkdtemp(tmp_dir)) {
    CHECK_MSG(0, "cannot create a temporary directory in %s", base);
    return brl_test_report("test_export");
  }
  random_models();
  classifier();
  if (brl_test_failed == 0) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    run(cmd);
  } else {
    fprintf(stderr, "test_export: files kept in %s\n", tmp_dir);
  }
  return brl_test_report("test_export");
}

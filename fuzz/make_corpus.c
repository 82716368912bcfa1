/* Writes the fuzzers' seed corpora (small valid files made by the library)
 * into DIR/corpus-<target>/: make_corpus DIR. The model corpus (binary and
 * JSON) is made from the committed corpus-model_load files. */
#include "boostrl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put(const char *dir, const char *target, const char *name,
               const void *pre, size_t npre, const void *data, size_t len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/corpus-%s/%s", dir, target, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(pre, 1, npre, f) != npre || fwrite(data, 1, len, f) != len ||
      fclose(f)) {
    fprintf(stderr, "cannot write %s\n", path);
    return 1;
  }
  return 0;
}

static int models(const char *dir) {
  const char *names[] = {"greedy", "oblivious", "categorical_adam"};
  int bad = 0;
  for (int i = 0; i < 3; i++) {
    char path[1024], name[64];
    snprintf(path, sizeof path, "%s/corpus-model_load/%s.brl", dir, names[i]);
    brl_model *m = NULL;
    char *json = NULL;
    size_t len = 0;
    if (brl_model_load(path, &m) || brl_model_dump_json(m, &json, &len)) {
      fprintf(stderr, "%s: %s\n", path, brl_last_error());
      return 1;
    }
    snprintf(name, sizeof name, "%s.json", names[i]);
    bad |= put(dir, "model_json", name, "", 0, json, len);
    brl_free(json);
    brl_model_free(&m);
  }
  return bad;
}

static int envs(const char *dir) {
  int bad = 0;
  const char *const *ids = brl_env_ids();
  for (int i = 0; ids[i]; i++) {
    brl_env *e = NULL;
    brl_env_spec spec;
    if (brl_env_make(ids[i], 2, 5, &e) || brl_env_get_spec(e, &spec))
      return 1;
    float *obs = calloc((size_t)(2 * spec.obs_dim), sizeof(float));
    float act[2 * BRL_MAX_ACTION_DIM] = {0};
    float rew[2];
    uint8_t term[2], trunc[2];
    brl_env_reset(e, obs);
    for (int s = 0; s < 3; s++)
      brl_env_step(e, act, obs, rew, term, trunc, NULL);
    void *buf;
    size_t len;
    if (brl_env_save_buffer(e, &buf, &len))
      return 1;
    uint8_t pre[2] = {(uint8_t)i, 1}; /* env i, 2 copies */
    char name[64];
    snprintf(name, sizeof name, "%s.env", ids[i]);
    bad |= put(dir, "env_load", name, pre, 2, buf, len);
    brl_free(buf);
    free(obs);
    brl_env_free(&e);
  }
  return bad;
}

static int agent(const char *dir, const char *env_id, brl_algo algo,
                 const char *name, const char *extra) {
  brl_agent_config c;
  brl_env *e = NULL;
  brl_env_spec spec;
  brl_action_space sp;
  brl_agent *a = NULL;
  brl_agent_config_default(&c, algo);
  c.n_envs = 2;
  c.n_steps = 8;
  c.batch_size = 8;
  c.max_depth = 2;
  c.buffer_size = 32;
  c.learning_starts = 8;
  c.train_freq = 4;
  c.gradient_steps = 1;
  c.n_threads = 1;
  if (extra) {
    char key[64];
    const char *eq = strchr(extra, '=');
    snprintf(key, sizeof key, "%.*s", (int)(eq - extra), extra);
    brl_agent_config_set(&c, key, eq + 1);
  }
  if (brl_env_make(env_id, 2, 3, &e) || brl_env_get_spec(e, &spec) ||
      brl_action_space_from_env(&spec, &sp) ||
      brl_agent_create(&c, spec.obs_dim, &sp, 9, &a) ||
      brl_agent_learn(a, e, 48, 1)) {
    fprintf(stderr, "%s: %s\n", name, brl_last_error());
    return 1;
  }
  void *buf;
  size_t len;
  if (brl_agent_save_buffer(a, &buf, &len))
    return 1;
  int bad = put(dir, "agent_load", name, "", 0, buf, len);
  brl_free(buf);
  brl_agent_free(&a);
  brl_env_free(&e);
  return bad;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_corpus DIR (DIR/corpus-model_load exists)\n");
    return 2;
  }
  const char *d = argv[1];
  int bad = models(d) || envs(d);
  bad |= agent(d, "CartPole-v1", BRL_ALGO_PPO, "ppo_cartpole.agent",
               "normalize_reward=true");
  bad |= agent(d, "Pendulum-v1", BRL_ALGO_A2C, "a2c_pendulum.agent",
               "shared_tree=false");
  bad |= agent(d, "CartPole-v1", BRL_ALGO_DQN, "dqn_cartpole.agent", NULL);
  bad |= agent(d, "MountainCarContinuous-v0", BRL_ALGO_AWR,
               "awr_mountaincar.agent", NULL);
  return bad;
}

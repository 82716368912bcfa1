/* The agent's device (config key `device`, brl_agent_set_device): parsing
 * and printing, "auto" resolving to the CUDA backend only when it is
 * available, "cuda" refused at creation with the reason where it is not,
 * every ensemble on the agent's backend after creation and loading, and
 * agent files that load on any machine. Runs in every build; with CUDA (or
 * its emulator) the cuda branches run too. */
#include "rl/agent.h"
#include "testlib.h"

#include <string.h>

static int cuda;

static brl_action_space discrete(int n) {
  brl_action_space s;
  brl_action_space_default(&s);
  s.kind = BRL_SPACE_DISCRETE;
  s.dim = 1;
  s.nvec[0] = n;
  return s;
}

static brl_backend_kind backend_of(const brl_agent *a, int which) {
  return brl_model_backend(brl_agent_model(a, which));
}

static void test_config_key(void) {
  brl_agent_config c;
  char v[64];
  brl_agent_config_default(&c, BRL_ALGO_PPO);
  CHECK(c.device == BRL_DEVICE_CPU);
  CHECK_OK(brl_agent_config_get(&c, "device", v, sizeof v));
  CHECK(strcmp(v, "cpu") == 0);
  CHECK_OK(brl_agent_config_set(&c, "device", "CUDA"));
  CHECK(c.device == BRL_DEVICE_CUDA);
  CHECK_OK(brl_agent_config_get(&c, "device", v, sizeof v));
  CHECK(strcmp(v, "cuda") == 0);
  CHECK_OK(brl_agent_config_set(&c, "device", "auto"));
  CHECK(c.device == BRL_DEVICE_AUTO);
  CHECK_OK(brl_agent_config_get(&c, "device", v, sizeof v));
  CHECK(strcmp(v, "auto") == 0);
  CHECK_OK(brl_agent_config_check(&c));
  /* A bad value names the key, the value and the choices; c unchanged. */
  CHECK(brl_agent_config_set(&c, "device", "gpu") == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "device") && strstr(brl_last_error(), "gpu") &&
        strstr(brl_last_error(), "cpu, cuda or auto"));
  CHECK(c.device == BRL_DEVICE_AUTO);
  c.device = (brl_device)7;
  CHECK(brl_agent_config_check(&c) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "device") != NULL);
  int listed = 0;
  for (const char *const *k = brl_agent_config_keys(); *k; k++)
    listed += strcmp(*k, "device") == 0;
  CHECK(listed == 1);
  CHECK(brl_agent_config_key_help("device") != NULL);
}

static brl_agent *make(const char *device, int shared, int *rc) {
  brl_agent_config c;
  brl_agent_config_default(&c, BRL_ALGO_PPO);
  c.n_envs = 2;
  c.n_steps = 8;
  c.batch_size = 8;
  c.shared_tree = shared;
  brl_agent_config_set(&c, "device", device);
  brl_action_space s = discrete(3);
  brl_agent *a = NULL;
  *rc = brl_agent_create(&c, 4, &s, 1, &a);
  return a;
}

static void test_create(void) {
  int rc;
  brl_agent *a = make("cpu", 0, &rc);
  CHECK_OK(rc);
  if (a) {
    CHECK(strcmp(brl_agent_device(a), "cpu") == 0);
    CHECK(backend_of(a, 0) == BRL_BACKEND_CPU);
    CHECK(backend_of(a, 1) == BRL_BACKEND_CPU);
  }
  brl_agent_free(&a);
  /* auto: cuda exactly when it is available; both ensembles follow. */
  a = make("auto", 0, &rc);
  CHECK_OK(rc);
  if (a) {
    brl_backend_kind want = cuda ? BRL_BACKEND_CUDA : BRL_BACKEND_CPU;
    CHECK(strcmp(brl_agent_device(a), cuda ? "cuda" : "cpu") == 0);
    CHECK(backend_of(a, 0) == want && backend_of(a, 1) == want);
    brl_agent_config c;
    CHECK_OK(brl_agent_get_config(a, &c));
    CHECK(c.device == BRL_DEVICE_AUTO); /* the setting as given */
  }
  brl_agent_free(&a);
  a = make("cuda", 1, &rc);
  if (cuda) {
    CHECK_OK(rc);
    CHECK(a && backend_of(a, 0) == BRL_BACKEND_CUDA);
  } else {
    /* Refused at creation, with the reason, no agent. */
    CHECK(rc == BRL_EUNSUPPORTED && a == NULL);
    CHECK_MSG(strstr(brl_last_error(), "device = cuda") &&
                  strstr(brl_last_error(), "not available"),
              "%s", brl_last_error());
  }
  brl_agent_free(&a);
}

static void test_set_device(void) {
  int rc;
  brl_agent *a = make("cpu", 0, &rc);
  CHECK_OK(rc);
  if (!a)
    return;
  CHECK(brl_agent_set_device(a, "tpu") == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "tpu") != NULL);
  rc = brl_agent_set_device(a, "cuda");
  brl_agent_config c;
  brl_agent_get_config(a, &c);
  if (cuda) {
    CHECK_OK(rc);
    CHECK(backend_of(a, 0) == BRL_BACKEND_CUDA &&
          backend_of(a, 1) == BRL_BACKEND_CUDA);
    CHECK(c.device == BRL_DEVICE_CUDA);
  } else {
    CHECK(rc == BRL_EUNSUPPORTED);
    CHECK(strstr(brl_last_error(), "cuda") != NULL);
    /* Unchanged. */
    CHECK(strcmp(brl_agent_device(a), "cpu") == 0);
    CHECK(backend_of(a, 0) == BRL_BACKEND_CPU);
    CHECK(c.device == BRL_DEVICE_CPU);
  }
  CHECK_OK(brl_agent_set_device(a, "auto"));
  CHECK(strcmp(brl_agent_device(a), cuda ? "cuda" : "cpu") == 0);
  CHECK_OK(brl_agent_set_device(a, NULL));
  CHECK(strcmp(brl_agent_device(a), "cpu") == 0);
  CHECK(backend_of(a, 0) == BRL_BACKEND_CPU &&
        backend_of(a, 1) == BRL_BACKEND_CPU);
  CHECK(strcmp(brl_agent_device(NULL), "") == 0);
  brl_agent_free(&a);
}

/* The file records the setting; one that asks for cuda loads anywhere (as
 * a cpu agent where CUDA is unavailable), with both ensembles on the
 * resolved backend. */
static void test_files(void) {
  int rc;
  brl_agent *a = make("auto", 0, &rc);
  CHECK_OK(rc);
  if (!a)
    return;
  void *buf;
  size_t len;
  brl_agent *b = NULL;
  CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
  CHECK_OK(brl_agent_load_buffer(buf, len, &b));
  brl_free(buf);
  if (b) {
    brl_agent_config c;
    brl_agent_get_config(b, &c);
    CHECK(c.device == BRL_DEVICE_AUTO);
    brl_backend_kind want = cuda ? BRL_BACKEND_CUDA : BRL_BACKEND_CPU;
    CHECK(backend_of(b, 0) == want && backend_of(b, 1) == want);
  }
  brl_agent_free(&b);
  a->cfg.device = BRL_DEVICE_CUDA; /* as an agent trained on a GPU */
  CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
  CHECK_OK(brl_agent_load_buffer(buf, len, &b));
  brl_free(buf);
  if (b) {
    brl_agent_config c;
    brl_agent_get_config(b, &c);
    CHECK(c.device == (cuda ? BRL_DEVICE_CUDA : BRL_DEVICE_CPU));
    CHECK(strcmp(brl_agent_device(b), cuda ? "cuda" : "cpu") == 0);
    CHECK(backend_of(b, 1) == (cuda ? BRL_BACKEND_CUDA : BRL_BACKEND_CPU));
  }
  brl_agent_free(&b);
  brl_agent_free(&a);
}

int main(void) {
  cuda = brl_backend_available(BRL_BACKEND_CUDA);
  printf("test_device: CUDA %savailable\n", cuda ? "" : "not ");
  test_config_key();
  test_create();
  test_set_device();
  test_files();
  return brl_test_report("test_device");
}

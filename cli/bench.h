/* The RL-update benchmark of the engine: the `boostrl bench` command, also
 * built as the stand-alone bench/bench.c program. It uses the public API
 * only. */
#ifndef BRL_CLI_BENCH_H
#define BRL_CLI_BENCH_H

int brl_bench_main(int argc, char **argv);

#endif

/* The RL-update benchmark of the engine, shared by bench/bench.c and
 * `boostrl bench`. */
#ifndef BRL_BENCH_LIB_H
#define BRL_BENCH_LIB_H

int brl_bench_main(int argc, char **argv);

#endif

/* The engine benchmark as a stand-alone program (also `boostrl bench`). */
#include "bench_lib.h"

int main(int argc, char **argv) { return brl_bench_main(argc, argv); }

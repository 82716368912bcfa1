/* The engine benchmark as a stand-alone program, built from the same source
 * as `boostrl bench` (cli/bench.c, which uses the public API only). */
int brl_bench_main(int argc, char **argv);

int main(int argc, char **argv) { return brl_bench_main(argc, argv); }

// MLX's C++ random::bits, which Python does not expose: gen_random.py compiles this against
// the libmlx.so of the installed wheel to record bits of width 1 and 2.
//   random_bits K0 K1 WIDTH D0 D1 ...   writes the raw output bytes to stdout.
#include <mlx/mlx.h>
#include <cstdio>
#include <cstdlib>
namespace mx = mlx::core;
int main(int argc, char** argv) {
  if (argc < 4) {
    return 2;
  }
  uint32_t k0 = strtoul(argv[1], nullptr, 10), k1 = strtoul(argv[2], nullptr, 10);
  int width = atoi(argv[3]);
  mx::Shape shape;
  for (int i = 4; i < argc; i++) {
    shape.push_back(atoi(argv[i]));
  }
  auto b = mx::random::bits(shape, width, mx::array({k0, k1}));
  mx::eval(b);
  fwrite(b.data<char>(), 1, b.nbytes(), stdout);
  return 0;
}

/* The thread-count rule shared by every stage (common_internal.h). */
#include <omp.h>

#include "common/common_internal.h"

int tsr__threads(int requested) {
  if (requested > 0) return requested;
  int n = omp_get_max_threads();
  return n > 0 ? n : 1;
}

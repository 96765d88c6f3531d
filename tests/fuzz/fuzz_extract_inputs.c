/* libFuzzer harness for the files `tessera extract` reads besides the run
 * and the agreement (which has its own harness): opt-out lists (CSV of NHS
 * numbers) and pseudonym key files. The first byte picks the parser; the
 * rest is written to a scratch file (mode 0600, as a key must be) and read.
 * Any input must end in success or a clean error: no crash, no leak, and an
 * error always carries a message. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extract/extract_internal.h"
#include "extract/pseudo.h"
#include "tessera/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static char path[64];
  if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_extract_inputs.%d", (int)getpid());
  unlink(path);
  int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
  if (fd < 0) return 0;
  size_t n = size - 1;
  if (n && write(fd, data + 1, n) != (ssize_t)n) {
    close(fd);
    return 0;
  }
  close(fd);
  tsr_error err;
  tsr_error_clear(&err);
  if (data[0] & 1) {
    uint64_t count = 0;
    int rc = tsr__x_optout_list_count(path, &count, &err);
    if (rc && !err.msg[0]) abort();
    if (!rc && count > n) abort(); /* every number takes at least ten bytes */
  } else {
    tsr__key *k = NULL;
    int rc = tsr__key_load(path, &k, &err);
    if (rc && !err.msg[0]) abort();
    if (!rc && !k) abort();
    tsr__key_free(k);
  }
  unlink(path);
  return 0;
}

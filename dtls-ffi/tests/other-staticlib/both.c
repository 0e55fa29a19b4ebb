/* Links libdtls.a and libother.a (tests/other-staticlib, an unrelated Rust staticlib) into one
 * program and uses both: each keeps its own Rust runtime, neither sees the other's symbols. */
#include "dtls.h"

#include <stdint.h>
#include <stdio.h>

int64_t other_describe(uint32_t n, char *out, size_t cap);
int32_t other_checked_div(int32_t a, int32_t b);

int main(void) {
  char text[64];
  if (other_describe(4, text, sizeof text) < 0) return 1;
  dtls_certificate *cert = NULL;
  if (dtls_certificate_generate("both", &cert) != DTLS_OK) return 2;
  char fp[160];
  size_t len = 0;
  if (dtls_certificate_fingerprint(cert, DTLS_HASH_SHA256, fp, sizeof fp, &len) != DTLS_OK) return 3;
  dtls_certificate_free(cert);
  /* other_checked_div(7, 0) panics inside libother and catches it there: unwinding works with
   * libdtls's (now private) copy of the runtime in the same program. */
  printf("%s; 7/0 -> %d; libdtls %s; fingerprint of %zu chars\n", text,
         (int)other_checked_div(7, 0), dtls_version(), len);
  return 0;
}

/* What every kernel file includes. Plain C99 with <math.h>: the compiler vectorises the
 * loops; on glibc the declarations below let it call libmvec's vector exp and tanh (glibc
 * declares them only under -ffast-math, which would also let the compiler assume that no
 * NaN or infinity occurs, and a diverging run produces exactly those). */
#ifndef KERNELS_COMMON_H
#define KERNELS_COMMON_H
#include <math.h>

#if defined(__GLIBC__) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_MATH __attribute__((__simd__("notinbranch")))
VECTOR_MATH float expf(float);
VECTOR_MATH float tanhf(float);
VECTOR_MATH double exp(double);
VECTOR_MATH double tanh(double);
#endif

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#endif

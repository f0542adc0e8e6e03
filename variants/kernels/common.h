/* What every kernel file includes. Plain C99 with <math.h>: the compiler vectorises the
 * loops. float uses the inline exp and tanh below (the compiler vectorises them with the
 * loop); double uses libm's, which on glibc the declarations below let the compiler call in
 * libmvec's vector versions (glibc declares them only under -ffast-math, which would also
 * let the compiler assume that no NaN or infinity occurs, and a diverging run produces
 * exactly those). */
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

/* exp for float, Cephes' expf: x = n ln2 + r, |r| <= ln2 / 2, exp(r) by a polynomial, 2^n
 * put into the exponent bits; within 1 ulp of expf over its range. Written with selects
 * and no calls so that the loop around it vectorises. x is clamped to the finite range
 * (exp(-x) of a large x is huge rather than infinite; 1 / (1 + it) still gives 0); NaN
 * passes the clamps (the comparisons are false for it) and stays NaN. */
static inline float exp_f32(float x) {
    x = x > 88.3762626647949f ? 88.3762626647949f : x;
    x = x < -87.3365447505531f ? -87.3365447505531f : x;
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  /* round */
    const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union { float f; int i; } scale;
    scale.i = ((int)n + 127) << 23;
    return p * scale.f;
}

/* tanh for float: Cephes' odd polynomial below |x| = 0.625 (where 1 - 2 / (e^2x + 1) would
 * lose digits to cancellation), 1 - 2 / (e^2|x| + 1) with x's sign above; within a few ulp
 * of tanhf. Both branches are computed and one selected, so the loop still vectorises. */
static inline float tanh_f32(float x) {
    const float a = x < 0.0f ? -x : x;
    const float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const float small = x + x * z * p;
    const float large = 1.0f - 2.0f / (exp_f32(2.0f * a) + 1.0f);
    return a < 0.625f ? small : (x < 0.0f ? -large : large);
}

/* How a sequence is shared among threads. Neither trials nor batch rows ever meet: a row's
 * step reads only its own row of the step before. So the work is cut into units, each a
 * block of one trial's batch rows run through the whole sequence on one thread with no
 * synchronisation between steps: whole trials when a stack has at least as many as there are
 * threads, else each trial's rows cut into blocks. The BLAS products run single-threaded
 * inside (OpenMP keeps one level active), each on its unit's rows. The threads are those of
 * the OpenMP runtime torch itself uses (same libgomp, so torch.set_num_threads holds); a
 * sequence of little work (in multiply-adds of its recurrent products) stays on one. */
#define PRAGMA_(x) _Pragma(#x)
#define PARALLEL_WORK 1048576.0
#ifdef _OPENMP
#include <omp.h>
static inline int blocks_per_trial(int trials, int rows, double work) {
    const int threads = omp_get_max_threads();
    if (threads < 2 || work < PARALLEL_WORK || trials >= threads) return 1;
    const int blocks = (threads + trials - 1) / trials;
    return blocks < rows ? blocks : rows;
}
#define FOR_UNITS(s, work) \
    const double work_ = (work); \
    const int blocks_ = blocks_per_trial((s)->k, (s)->b, work_); \
    PRAGMA_(omp parallel for schedule(static) if ((s)->k * blocks_ > 1 && work_ >= PARALLEL_WORK)) \
    for (int unit_ = 0; unit_ < (s)->k * blocks_; unit_++)
#else
#define FOR_UNITS(s, work) \
    const int blocks_ = 1; \
    for (int unit_ = 0; unit_ < (s)->k; unit_++)
#endif
/* a unit's trial k, its first row b0 and its number of rows nb */
#define UNIT(s) \
    const int k = unit_ / blocks_, b0 = (s)->b * (unit_ % blocks_) / blocks_; \
    const int nb = (s)->b * (unit_ % blocks_ + 1) / blocks_ - b0
/* a unit's first row in buffer ptr (step 0 where the buffer has steps), whose strides are the
 * fields <layout>_ks and <layout>_rs of s */
#define OWN(ptr, layout) ((ptr) + (long)k * s->layout##_ks + (long)b0 * s->layout##_rs)

/* The BLAS matrix product, in its Fortran calling convention (column-major, every argument
 * by pointer): C = alpha op(A) op(B) + beta C. Any BLAS has it (MKL, OpenBLAS, Accelerate);
 * variants/native.py passes torch's own. A row-major X [r, c] is the column-major X^T. */
#define GEMM CAT(gemm, SUFFIX)
/* a sequence function's product (gemm_) and its constants alpha = 1, beta = 0 */
#define USING_BLAS(gemm) GEMM gemm_ = (GEMM)(gemm); const REAL one = 1, zero = 0

/* every row of a step: trial k, batch row b */
#define FOR_ROWS(s) for (int k = 0; k < (s)->k; k++) for (int b = 0; b < (s)->b; b++)

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#endif

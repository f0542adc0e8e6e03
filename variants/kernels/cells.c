/* The native kernels of every cell family (lstm.h, gru.h, nas.h), for float and double,
 * compiled once per machine by variants/native.py and called through ctypes. */
#include "common.h"

#include <stddef.h>

enum { COUPLED = 1, TANH_G = 2, TANH_H = 4, FGR = 8 };

/* Each struct's fields are listed once (X-macros): the struct is declared from the list, and
 * so is its layout table, which variants/native.py compares with the ctypes side (names,
 * offsets, size) before the first kernel call, so that the two can never drift apart
 * silently. */
#define DECLARE_INT(f) int f;
#define DECLARE_LONG(f) long f;
#define DECLARE_PTR(f) const void *f;
#define NAME(f) #f " "

/* LSTM family: sizes, gate blocks (-1: absent), flags, the strides (elements) of every
 * buffer, trial (_ks) and row (_rs), forward then backward; peepholes [K, N] or NULL. */
#define LSTM_STEP(I, L, P) \
    I(k) I(b) I(n) I(oi) I(of) I(oz) I(oo) I(flags) \
    L(a_ks) L(a_rs) L(rh_ks) L(rh_rs) L(c_ks) L(c_rs) L(hc_ks) L(hc_rs) L(h_ks) L(h_rs) \
    L(g_ks) L(g_rs) L(dh_ks) L(dh_rs) L(dy_ks) L(dy_rs) L(dc_ks) L(dc_rs) \
    P(p_i) P(p_f) P(p_o)
struct lstm_step { LSTM_STEP(DECLARE_INT, DECLARE_LONG, DECLARE_PTR) };

/* GRU family and Elman RNN: the same, with the blocks of a reset-before cell's inputs and
 * b_Rh [K, N] of the reset-after GRU. */
#define GRU_STEP(I, L, P) \
    I(k) I(b) I(n) I(oz) I(or_) I(oh) \
    L(a_ks) L(a_rs) L(rh_ks) L(rh_rs) L(h_ks) L(h_rs) L(gates_ks) L(gates_rs) L(g_ks) L(g_rs) \
    L(dh_ks) L(dh_rs) L(dy_ks) L(dy_rs) L(rz_ks) L(rz_rs) L(rr_ks) L(rr_rs) L(sh_ks) L(sh_rs) \
    L(dmz_ks) L(dmz_rs) L(th_ks) L(th_rs) \
    P(bias)
struct gru_step { GRU_STEP(DECLARE_INT, DECLARE_LONG, DECLARE_PTR) };

/* NAS cell: sizes, the strides of its buffers (a: input projections, overwritten with the
 * first layer, and both pre-activation gradients; sv: what the backward reads besides),
 * and b_0..b_7 [K, 8N] (zeros without use_bias). */
#define NAS_STEP(I, L, P) \
    I(k) I(b) I(n) \
    L(a_ks) L(a_rs) L(rh_ks) L(rh_rs) L(c_ks) L(c_rs) L(h_ks) L(h_rs) L(sv_ks) L(sv_rs) \
    L(dh_ks) L(dh_rs) L(dy_ks) L(dy_rs) L(dc_ks) L(dc_rs) \
    P(bias)
struct nas_step { NAS_STEP(DECLARE_INT, DECLARE_LONG, DECLARE_PTR) };

/* The layout tables: field names (space-separated), offsets, size; and the flag values. */
#define LSTM_OFFSET(f) (long)offsetof(struct lstm_step, f),
#define GRU_OFFSET(f) (long)offsetof(struct gru_step, f),
#define NAS_OFFSET(f) (long)offsetof(struct nas_step, f),
const char lstm_step_names[] = LSTM_STEP(NAME, NAME, NAME);
const long lstm_step_offsets[] = { LSTM_STEP(LSTM_OFFSET, LSTM_OFFSET, LSTM_OFFSET) };
const long lstm_step_size = (long)sizeof(struct lstm_step);
const char gru_step_names[] = GRU_STEP(NAME, NAME, NAME);
const long gru_step_offsets[] = { GRU_STEP(GRU_OFFSET, GRU_OFFSET, GRU_OFFSET) };
const long gru_step_size = (long)sizeof(struct gru_step);
const char nas_step_names[] = NAS_STEP(NAME, NAME, NAME);
const long nas_step_offsets[] = { NAS_STEP(NAS_OFFSET, NAS_OFFSET, NAS_OFFSET) };
const long nas_step_size = (long)sizeof(struct nas_step);
const int lstm_flags[] = { COUPLED, TANH_G, TANH_H, FGR };

typedef void (*gemm_f32)(const char *, const char *, const int *, const int *, const int *,
                         const float *, const float *, const int *, const float *,
                         const int *, const float *, float *, const int *);
typedef void (*gemm_f64)(const char *, const char *, const int *, const int *, const int *,
                         const double *, const double *, const int *, const double *,
                         const int *, const double *, double *, const int *);

#define REAL float
#define SUFFIX f32
#define EXP exp_f32
#define TANH tanh_f32
#include "lstm.h"
#include "gru.h"
#include "nas.h"
#undef REAL
#undef SUFFIX
#undef EXP
#undef TANH

#define REAL double
#define SUFFIX f64
#define EXP exp
#define TANH tanh
#include "lstm.h"
#include "gru.h"
#include "nas.h"

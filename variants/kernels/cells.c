/* The native kernels of every cell family (lstm.h, gru.h), for float and double, compiled
 * once per machine by variants/native.py and called through ctypes. */
#include "common.h"

enum { COUPLED = 1, TANH_G = 2, TANH_H = 4, FGR = 8 };

/* LSTM family: sizes, gate blocks, peepholes and the strides (elements) of every buffer:
 * trial (_ks) and row (_rs); set up once per sequence. */
struct lstm_step {
    int k, b, n, oi, of, oz, oo, flags;  /* trials, batch, units, gate blocks (-1: absent) */
    long a_ks, a_rs, rh_ks, rh_rs, c_ks, c_rs, hc_ks, hc_rs, h_ks, h_rs;   /* forward */
    long g_ks, g_rs, dh_ks, dh_rs, dy_ks, dy_rs, dc_ks, dc_rs;             /* backward */
    const void *p_i, *p_f, *p_o;  /* peepholes [K, N], or NULL */
};

/* GRU family and Elman RNN: the same, with the blocks of a reset-before cell's inputs. */
struct gru_step {
    int k, b, n, oz, or_, oh;
    long a_ks, a_rs, rh_ks, rh_rs, h_ks, h_rs, gates_ks, gates_rs, g_ks, g_rs;
    long dh_ks, dh_rs, dy_ks, dy_rs, rz_ks, rz_rs, rr_ks, rr_rs, sh_ks, sh_rs;
    long dmz_ks, dmz_rs, th_ks, th_rs;
    const void *bias;  /* b_Rh [K, N] of the reset-after GRU */
};

#define REAL float
#define SUFFIX f32
#define EXP exp_f32
#define TANH tanh_f32
#include "lstm.h"
#include "gru.h"
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

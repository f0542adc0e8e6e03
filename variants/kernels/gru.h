/* Elementwise steps of the GRU family and the Elman RNN, forward and backward, for one
 * scalar type (included twice by cells.c, see lstm.h for the conventions: K trials of B
 * rows, row b of trial k of a buffer at  base + k * ks + b * rs, blocks of N units), and the
 * time loops that drive them (the *_seq functions at the end, which gru_native.py calls:
 * the step kernels are theirs alone).
 *
 * Reset after (torch's and cuDNN's GRU): a = W x + b holds r, z, n; rh = R h' the same.
 *   r = σ(a_r + rh_r)  z = σ(a_z + rh_z)  hn = rh_n + b_Rh  n = tanh(a_n + r hn)
 *   h = n + z (h' - n)
 * Reset before (Cho et al.'s GRU, MUT1-3): a holds z, r, h at block offsets oz, or, oh;
 *   z = σ(a_z + rz)  r = σ(a_r + rr)  s = r h'        (first kernel, then rh = R_h s)
 *   c = tanh(a_h + rh)  h = h' + z (c - h')           (second kernel)
 * where rz and rr are what the caller's products give (rz reads zeros for MUT1, whose
 * update gate has no recurrent input; for MUT3 it is R_z tanh(h'), and the second kernel
 * also keeps tanh(h) for the next step). Elman: h = tanh(a + rh).
 */

#define ROW(ptr, layout, k, b) ((ptr) + (long)(k) * s->layout##_ks + (long)(b) * s->layout##_rs)
#define SIGM CAT(sigm, SUFFIX)

/* --- reset after ----------------------------------------------------------------------- */

/* gates: [r, z, n, hn] per row (kept for the backward); h: the new state */
static void CAT(gru_forward, SUFFIX)(const struct gru_step *s, const REAL *a, const REAL *rh,
                                     const REAL *hp, REAL *gates, REAL *h) {
    const int N = s->n;
    FOR_ROWS(s) {
        const REAL *bias = (const REAL *)s->bias + (long)k * N;
        const REAL *ar = ROW(a, a, k, b), *rr = ROW(rh, rh, k, b);
        const REAL *hpr = ROW(hp, h, k, b);
        REAL *gr = ROW(gates, gates, k, b), *hr = ROW(h, h, k, b);
        for (int j = 0; j < 2 * N; j++) gr[j] = SIGM(ar[j] + rr[j]);
        REAL *hn = gr + 3 * N, *nn = gr + 2 * N;
        const REAL *r = gr;
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            hn[j] = rr[2 * N + j] + bias[j];
            nn[j] = TANH(ar[2 * N + j] + r[j] * hn[j]);
        }
        const REAL *z = gr + N;
#pragma GCC ivdep
        for (int j = 0; j < N; j++) hr[j] = nn[j] + z[j] * (hpr[j] - nn[j]);
    }
}

/* dh = dmm + ddir + dy is the gradient of this step's h (dmm: the next step's gh R,
 * ddir: its z dh). Writes gx = d(a) = [dr, dz, dn], gh = d(R h') = [dr, dz, r dn] (both
 * pre-activation), and ddir = z dh for the step before (in place). */
static void CAT(gru_backward, SUFFIX)(const struct gru_step *s, const REAL *gates,
                                      const REAL *hp, const REAL *dmm, REAL *ddir,
                                      const REAL *dy, REAL *gx, REAL *gh) {
    const int N = s->n;
    FOR_ROWS(s) {
        const REAL *g = ROW(gates, gates, k, b), *hpr = ROW(hp, h, k, b);
        const REAL *dmr = ROW(dmm, dh, k, b), *dyr = ROW(dy, dy, k, b);
        REAL *ddr = ROW(ddir, dh, k, b);
        REAL *gxr = ROW(gx, g, k, b), *ghr = ROW(gh, g, k, b);
        const REAL *r = g, *z = g + N, *nn = g + 2 * N, *hn = g + 3 * N;
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            const REAL dh = dmr[j] + ddr[j] + dyr[j];
            const REAL dn = dh * ((REAL)1 - z[j]) * ((REAL)1 - nn[j] * nn[j]);
            const REAL dz = dh * (hpr[j] - nn[j]) * (z[j] * ((REAL)1 - z[j]));
            const REAL dr = dn * hn[j] * (r[j] * ((REAL)1 - r[j]));
            gxr[j] = dr; gxr[N + j] = dz; gxr[2 * N + j] = dn;
            ghr[j] = dr; ghr[N + j] = dz; ghr[2 * N + j] = dn * r[j];
            ddr[j] = dh * z[j];
        }
    }
}

/* --- reset before ---------------------------------------------------------------------- */

/* gates: [z, r, c] per row; sh: s = r h' (the input of R_h) */
static void CAT(reset_gates, SUFFIX)(const struct gru_step *s, const REAL *a, const REAL *rz,
                                     const REAL *rr, const REAL *hp, REAL *gates, REAL *sh) {
    const int N = s->n, oz = s->oz * N, or_ = s->or_ * N;
    FOR_ROWS(s) {
        const REAL *ar = ROW(a, a, k, b), *rzr = ROW(rz, rz, k, b);
        const REAL *rrr = ROW(rr, rr, k, b), *hpr = ROW(hp, h, k, b);
        REAL *gr = ROW(gates, gates, k, b), *sr = ROW(sh, sh, k, b);
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            gr[j] = SIGM(ar[oz + j] + rzr[j]);
            const REAL r = SIGM(ar[or_ + j] + rrr[j]);
            gr[N + j] = r;
            sr[j] = r * hpr[j];
        }
    }
}

/* th (MUT3): tanh(h) of the new state, the next step's update-gate input; else NULL */
static void CAT(reset_state, SUFFIX)(const struct gru_step *s, const REAL *a, const REAL *rh,
                                     const REAL *hp, REAL *gates, REAL *h, REAL *th) {
    const int N = s->n, oh = s->oh * N;
    FOR_ROWS(s) {
        const REAL *ar = ROW(a, a, k, b), *rhr = ROW(rh, rh, k, b);
        const REAL *hpr = ROW(hp, h, k, b);
        REAL *gr = ROW(gates, gates, k, b), *hr = ROW(h, h, k, b);
        const REAL *z = gr;
        REAL *c = gr + 2 * N;
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            c[j] = TANH(ar[oh + j] + rhr[j]);
            hr[j] = hpr[j] + z[j] * (c[j] - hpr[j]);
        }
        if (th) {
            REAL *thr = ROW(th, h, k, b);
            for (int j = 0; j < N; j++) thr[j] = TANH(hr[j]);
        }
    }
}

/* First half back: dh = dmm + dmz (1 - th²) + ddir + dy is the gradient of this step's h
 * (dmm: the next step's products with R_g, dmz: MUT3's product with R_z, which reaches h
 * through tanh; th: tanh(h), or rows of zeros). Writes gx_z, gx_h (pre-activation) and
 * ddir = (1 - z) dh. */
static void CAT(reset_back_state, SUFFIX)(const struct gru_step *s, const REAL *gates,
                                          const REAL *hp, const REAL *dmm, const REAL *dmz,
                                          const REAL *th, REAL *ddir, const REAL *dy,
                                          REAL *gx) {
    const int N = s->n, oz = s->oz * N, oh = s->oh * N;
    FOR_ROWS(s) {
        const REAL *g = ROW(gates, gates, k, b), *hpr = ROW(hp, h, k, b);
        const REAL *dmr = ROW(dmm, dh, k, b), *dzr = ROW(dmz, dmz, k, b);
        const REAL *thr = ROW(th, th, k, b), *dyr = ROW(dy, dy, k, b);
        REAL *ddr = ROW(ddir, dh, k, b), *gxr = ROW(gx, g, k, b);
        const REAL *z = g, *c = g + 2 * N;
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            const REAL dh = dmr[j] + dzr[j] * ((REAL)1 - thr[j] * thr[j]) + ddr[j] + dyr[j];
            gxr[oz + j] = dh * (c[j] - hpr[j]) * (z[j] * ((REAL)1 - z[j]));
            gxr[oh + j] = dh * z[j] * ((REAL)1 - c[j] * c[j]);
            ddr[j] = dh * ((REAL)1 - z[j]);
        }
    }
}

/* Second half back: ds = (gradient of c's pre-activation) R_h is the gradient of s = r h'.
 * Writes gx_r and adds ds r to ddir. */
static void CAT(reset_back_gate, SUFFIX)(const struct gru_step *s, const REAL *gates,
                                         const REAL *hp, const REAL *ds, REAL *ddir,
                                         REAL *gx) {
    const int N = s->n, or_ = s->or_ * N;
    FOR_ROWS(s) {
        const REAL *g = ROW(gates, gates, k, b), *hpr = ROW(hp, h, k, b);
        const REAL *dsr = ROW(ds, dh, k, b);
        REAL *ddr = ROW(ddir, dh, k, b), *gxr = ROW(gx, g, k, b);
        const REAL *r = g + N;
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            gxr[or_ + j] = dsr[j] * hpr[j] * (r[j] * ((REAL)1 - r[j]));
            ddr[j] += dsr[j] * r[j];
        }
    }
}

/* --- Elman ------------------------------------------------------------------------------ */

static void CAT(elman_forward, SUFFIX)(const struct gru_step *s, const REAL *a, const REAL *rh,
                                       REAL *h) {
    const int N = s->n;
    FOR_ROWS(s) {
        const REAL *ar = ROW(a, a, k, b), *rr = ROW(rh, rh, k, b);
        REAL *hr = ROW(h, h, k, b);
        for (int j = 0; j < N; j++) hr[j] = TANH(ar[j] + rr[j]);
    }
}

static void CAT(elman_backward, SUFFIX)(const struct gru_step *s, const REAL *h,
                                        const REAL *dmm, const REAL *dy, REAL *gx) {
    const int N = s->n;
    FOR_ROWS(s) {
        const REAL *hr = ROW(h, h, k, b), *dmr = ROW(dmm, dh, k, b);
        const REAL *dyr = ROW(dy, dy, k, b);
        REAL *gxr = ROW(gx, g, k, b);
        for (int j = 0; j < N; j++) gxr[j] = (dmr[j] + dyr[j]) * ((REAL)1 - hr[j] * hr[j]);
    }
}

/* --- the whole sequences ------------------------------------------------------------------
 *
 * One call runs the time loop, each step the BLAS products (gemm: torch's sgemm_/dgemm_, in
 * the Fortran convention: a row-major X [r, c] is the column-major X^T) and the kernels
 * above, as lstm.h's sequences do. The recurrent matrices are dense [K, rows, N] (row-major,
 * trial after trial). Buffers with a time axis are [K, T(+1), B, width]: step t of trial k
 * at  base + k * ks + t * B * rs  (a zero row standing for an absent term has ks = rs = 0
 * and keeps pointing at itself). Shared among threads by units of a trial's rows
 * (FOR_UNITS, common.h). */

/* step t of a unit's rows (trial k from row b0, UNIT) of buffer ptr, whose strides are the
 * fields <layout>_ks and <layout>_rs */
#define AT(ptr, layout, k, t) (OWN(ptr, layout) + (long)(t) * s->b * s->layout##_rs)

/* A unit (nb rows of trial k) as a stack of one trial: its struct (and its b_Rh, where
 * there is one); the callers offset the buffers (OWN, AT). */
static struct gru_step CAT(gru_trial, SUFFIX)(const struct gru_step *s, int k, int nb) {
    struct gru_step t = *s;
    t.k = 1;
    t.b = nb;
    t.bias = s->bias ? (const REAL *)s->bias + (long)k * s->n : 0;
    return t;
}

/* a unit (UNIT) and its struct t */
#define GRU_UNIT(s) UNIT(s); const struct gru_step t = CAT(gru_trial, SUFFIX)(s, k, nb)

/* Reset after, forward: each step rh = R h' (R [K, 3N, N]), then the kernel. a [K, T, B, 3N],
 * rh [K, B, 3N], gates [K, T, B, 4N], h [K, T+1, B, N] (h0 in place). */
void CAT(gru_forward_seq, SUFFIX)(const struct gru_step *s, int steps, void *gemm,
                                  const REAL *r, const REAL *a, REAL *rh, REAL *gates,
                                  REAL *h) {
    USING_BLAS(gemm);
    const int B = s->b, N = s->n, G = 3 * N, ldh = (int)s->h_rs, ldrh = (int)s->rh_rs;
    FOR_UNITS(s, 3.0 * s->k * B * N * N * steps) {
        GRU_UNIT(s);
        const REAL *rk = r + (long)k * G * N;
        REAL *rhk = OWN(rh, rh);
        for (int step = 0; step < steps; step++) {
            const REAL *hp = AT(h, h, k, step);
            gemm_("T", "N", &G, &nb, &N, &one, rk, &N, hp, &ldh, &zero, rhk, &ldrh);
            CAT(gru_forward, SUFFIX)(&t, AT(a, a, k, step), rhk, hp, AT(gates, gates, k, step),
                                     AT(h, h, k, step + 1));
        }
    }
}

/* Reset after, backward: each step, in reverse, the kernel, then dmm = gh R. dmm (zeros) and
 * ddir (the final state's gradient) [K, B, N]: the gradient of h0 is dmm + ddir at the end.
 * dy [K, T, B, N]; gx and gh [K, T, B, 3N] (the same strides, g). */
void CAT(gru_backward_seq, SUFFIX)(const struct gru_step *s, int steps, void *gemm,
                                   const REAL *r, const REAL *gates, const REAL *h,
                                   REAL *dmm, REAL *ddir, const REAL *dy, REAL *gx,
                                   REAL *gh) {
    USING_BLAS(gemm);
    const int B = s->b, N = s->n, G = 3 * N, ldg = (int)s->g_rs, lddh = (int)s->dh_rs;
    FOR_UNITS(s, 3.0 * s->k * B * N * N * steps) {
        GRU_UNIT(s);
        const REAL *rk = r + (long)k * G * N;
        REAL *dmk = OWN(dmm, dh), *ddk = OWN(ddir, dh);
        for (int step = steps - 1; step >= 0; step--) {
            REAL *ghs = AT(gh, g, k, step);
            CAT(gru_backward, SUFFIX)(&t, AT(gates, gates, k, step), AT(h, h, k, step), dmk,
                                      ddk, AT(dy, dy, k, step), AT(gx, g, k, step), ghs);
            gemm_("N", "N", &N, &nb, &G, &one, rk, &N, ghs, &ldg, &zero, dmk, &lddh);
        }
    }
}

/* Reset before, forward: each step rg = R_g h' (R_g [K, G, N], G = rr_rs: rg [K, B, G] holds
 * the products of R_g's gates, rr and, where z is among them, rz point into it), MUT3's
 * rz = R_zt tanh(h') (r_zt [K, N, N], else NULL; rz [K, B, N], th [K, T+1, B, N] with h's
 * strides, tanh(h0) in place), the first kernel, rh = R_h s (R_h [K, N, N], sh [K, T, B, N],
 * rh [K, B, N]), the second kernel. Without a recurrent z term rz is a zero row. */
void CAT(reset_forward_seq, SUFFIX)(const struct gru_step *s, int steps, void *gemm,
                                    const REAL *r_g, const REAL *r_zt, const REAL *r_h,
                                    const REAL *a, REAL *rg, REAL *rz, REAL *rr, REAL *rh,
                                    REAL *gates, REAL *sh, REAL *h, REAL *th) {
    USING_BLAS(gemm);
    const int B = s->b, N = s->n, G = (int)s->rr_rs, ldh = (int)s->h_rs;
    const int ldrz = (int)s->rz_rs, ldrh = (int)s->rh_rs, ldsh = (int)s->sh_rs;
    FOR_UNITS(s, 3.0 * s->k * B * N * N * steps) {
        GRU_UNIT(s);
        const REAL *rgk = r_g + (long)k * G * N, *rhk = r_h + (long)k * N * N;
        const REAL *rztk = r_zt ? r_zt + (long)k * N * N : 0;
        REAL *rgo = OWN(rg, rr), *rzk = OWN(rz, rz), *rrk = OWN(rr, rr);
        REAL *rho = OWN(rh, rh);
        for (int step = 0; step < steps; step++) {
            const REAL *hp = AT(h, h, k, step), *as = AT(a, a, k, step);
            REAL *gs = AT(gates, gates, k, step), *shs = AT(sh, sh, k, step);
            gemm_("T", "N", &G, &nb, &N, &one, rgk, &N, hp, &ldh, &zero, rgo, &G);
            if (rztk)
                gemm_("T", "N", &N, &nb, &N, &one, rztk, &N, AT(th, h, k, step), &ldh, &zero,
                      rzk, &ldrz);
            CAT(reset_gates, SUFFIX)(&t, as, rzk, rrk, hp, gs, shs);
            gemm_("T", "N", &N, &nb, &N, &one, rhk, &N, shs, &ldsh, &zero, rho, &ldrh);
            CAT(reset_state, SUFFIX)(&t, as, rho, hp, gs, AT(h, h, k, step + 1),
                                     th ? AT(th, h, k, step + 1) : 0);
        }
    }
}

/* Reset before, backward: each step, in reverse, the first kernel, ds = gx_h R_h, the second
 * kernel, dmm = gx_g R_g and (MUT3) dmz = gx_z R_zt, where gx_h, gx_g, gx_z are blocks of
 * gx's rows (gx_g: the pointer to R_g's gate columns, G = rr_rs of them). dmm (zeros), ddir
 * (the final state's gradient), ds [K, B, N]; dmz [K, B, N] (zeros) and th (the forward's)
 * with MUT3, else zero rows. The gradient of h0 is dmm + ddir + dmz (1 - th0²) at the end. */
void CAT(reset_backward_seq, SUFFIX)(const struct gru_step *s, int steps, void *gemm,
                                     const REAL *r_g, const REAL *r_zt, const REAL *r_h,
                                     const REAL *gates, const REAL *h, const REAL *th,
                                     REAL *dmm, REAL *dmz, REAL *ddir, REAL *ds,
                                     const REAL *dy, REAL *gx, const REAL *gx_g) {
    USING_BLAS(gemm);
    const int B = s->b, N = s->n, G = (int)s->rr_rs, ldg = (int)s->g_rs;
    const int lddh = (int)s->dh_rs, lddz = (int)s->dmz_rs;
    const long oz = (long)s->oz * N, oh = (long)s->oh * N;
    FOR_UNITS(s, 3.0 * s->k * B * N * N * steps) {
        GRU_UNIT(s);
        const REAL *rgk = r_g + (long)k * G * N, *rhk = r_h + (long)k * N * N;
        const REAL *rztk = r_zt ? r_zt + (long)k * N * N : 0;
        REAL *dmk = OWN(dmm, dh), *ddk = OWN(ddir, dh), *dsk = OWN(ds, dh);
        REAL *dzk = OWN(dmz, dmz);
        for (int step = steps - 1; step >= 0; step--) {
            const REAL *gs = AT(gates, gates, k, step), *hp = AT(h, h, k, step);
            REAL *gxs = AT(gx, g, k, step);
            CAT(reset_back_state, SUFFIX)(&t, gs, hp, dmk, dzk, AT(th, th, k, step + 1), ddk,
                                          AT(dy, dy, k, step), gxs);
            gemm_("N", "N", &N, &nb, &N, &one, rhk, &N, gxs + oh, &ldg, &zero, dsk, &lddh);
            CAT(reset_back_gate, SUFFIX)(&t, gs, hp, dsk, ddk, gxs);
            gemm_("N", "N", &N, &nb, &G, &one, rgk, &N, AT(gx_g, g, k, step), &ldg, &zero, dmk,
                  &lddh);
            if (rztk)
                gemm_("N", "N", &N, &nb, &N, &one, rztk, &N, gxs + oz, &ldg, &zero, dzk, &lddz);
        }
    }
}

/* Elman, forward: each step rh = R h' (R [K, N, N]), then the kernel. a [K, T, B, N],
 * rh [K, B, N], h [K, T+1, B, N] (h0 in place). */
void CAT(elman_forward_seq, SUFFIX)(const struct gru_step *s, int steps, void *gemm,
                                    const REAL *r, const REAL *a, REAL *rh, REAL *h) {
    USING_BLAS(gemm);
    const int B = s->b, N = s->n, ldh = (int)s->h_rs, ldrh = (int)s->rh_rs;
    FOR_UNITS(s, 3.0 * s->k * B * N * N * steps) {
        GRU_UNIT(s);
        const REAL *rk = r + (long)k * N * N;
        REAL *rhk = OWN(rh, rh);
        for (int step = 0; step < steps; step++) {
            gemm_("T", "N", &N, &nb, &N, &one, rk, &N, AT(h, h, k, step), &ldh, &zero, rhk,
                  &ldrh);
            CAT(elman_forward, SUFFIX)(&t, AT(a, a, k, step), rhk, AT(h, h, k, step + 1));
        }
    }
}

/* Elman, backward: each step, in reverse, the kernel, then dmm = gx R. dmm [K, B, N] holds
 * the final state's gradient at first, h0's at the end; dy [K, T, B, N], gx [K, T, B, N]. */
void CAT(elman_backward_seq, SUFFIX)(const struct gru_step *s, int steps, void *gemm,
                                     const REAL *r, const REAL *h, REAL *dmm, const REAL *dy,
                                     REAL *gx) {
    USING_BLAS(gemm);
    const int B = s->b, N = s->n, ldg = (int)s->g_rs, lddh = (int)s->dh_rs;
    FOR_UNITS(s, 3.0 * s->k * B * N * N * steps) {
        GRU_UNIT(s);
        const REAL *rk = r + (long)k * N * N;
        REAL *dmk = OWN(dmm, dh);
        for (int step = steps - 1; step >= 0; step--) {
            REAL *gxs = AT(gx, g, k, step);
            CAT(elman_backward, SUFFIX)(&t, AT(h, h, k, step + 1), dmk, AT(dy, dy, k, step),
                                        gxs);
            gemm_("N", "N", &N, &nb, &N, &one, rk, &N, gxs, &ldg, &zero, dmk, &lddh);
        }
    }
}

#undef GRU_UNIT
#undef AT
#undef SIGM
#undef ROW

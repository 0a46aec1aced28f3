/* The fully connected int8 layer with AVX-512 VNNI, and the run-time choice of it.
 *
 * vpdpbusd multiplies unsigned by signed bytes, so the input is shifted to unsigned (x ^ 0x80 = x + 128) and
 * the extra 128 * sum(w) is taken off again with the row sums the runtime keeps anyway: sum (x + 128) w -
 * 128 sum w = sum x w, exact in int32 (wrap-around arithmetic, |sum x w| < 2^31 for every width the fast
 * kernel accepts). Sixteen output channels are packed at a time into the instruction's layout (4 consecutive
 * inputs of 16 channels per 64-byte vector, by 16 x 16 dword transposes on the stack); four input rows share
 * each packed vector. The requantization (TFLite's MultiplyByQuantizedMultiplier with per-channel
 * multipliers, int64 lanes) is vectorised too and reproduces quant/int8/requant.c step by step, so the output is
 * ds_i8_fc's bit for bit. */
#include "quant/int8/int8.h"

#include <math.h>
#include <string.h>


#define VNNI_MAX_IN 4096 /* packed block of 16 rows on the stack: 16 * 4096 bytes; wider layers fall back */

#if defined(__x86_64__) && defined(__GNUC__) && !defined(DS_NO_VNNI)
#include <immintrin.h>
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

int ds_i8_vnni_available(void) {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

/* 16 x 16 dwords: r[i] holds row i on entry and column i on return. */
VNNI static inline __attribute__((always_inline)) void transpose16_epi32(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4)
    for (int j = 0; j < 2; j++) {
      r[i + j] = _mm512_unpacklo_epi64(t[i + j], t[i + j + 2]);
      r[i + j + 2] = _mm512_unpackhi_epi64(t[i + j], t[i + j + 2]);
    }
  for (int i = 0; i < 16; i += 8)
    for (int j = 0; j < 4; j++) {
      t[i + j] = _mm512_shuffle_i32x4(r[i + j], r[i + j + 4], 0x88);
      t[i + j + 4] = _mm512_shuffle_i32x4(r[i + j], r[i + j + 4], 0xDD);
    }
  for (int j = 0; j < 8; j++) {
    r[j] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0x88);
    r[j + 8] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0xDD);
  }
  for (int i = 0; i < 16; i += 4) { /* the network leaves columns 1 and 2 of each group of four swapped */
    const __m512i x = r[i + 1];
    r[i + 1] = r[i + 2];
    r[i + 2] = x;
  }
}

/* Rows o0 .. o0+rows-1 (rows <= 16, row stride ld) of `in` bytes into wp[k4] = 16 dwords, dword j = bytes
 * 4k4 .. 4k4+3 of row j; columns past `in` and rows past `rows` are zero. */
VNNI static void pack_rows(__m512i *wp, const int8_t *w, size_t ld, int in, int o0, int rows) {
  for (int k = 0; k < in; k += 64) {
    const int n = in - k < 64 ? in - k : 64;
    const __mmask64 m = n == 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
    __m512i r[16];
    for (int j = 0; j < 16; j++)
      r[j] = j < rows ? _mm512_maskz_loadu_epi8(m, w + (size_t)(o0 + j) * ld + k) : _mm512_setzero_si512();
    transpose16_epi32(r);
    for (int i = 0; i < (n + 3) / 4; i++) wp[k / 4 + i] = r[i];
  }
}

/* Dword k4 of an input row as unsigned bytes (x + 128); bytes past `in` read as 0 (their weights are 0). */
VNNI static inline __m512i input_dword(const int8_t *xr, int k4, int in) {
  int32_t v;
  if (4 * k4 + 4 <= in) {
    memcpy(&v, xr + 4 * k4, 4);
  } else {
    uint8_t b[4] = {0, 0, 0, 0};
    memcpy(b, xr + 4 * k4, (size_t)(in - 4 * k4));
    memcpy(&v, b, 4);
  }
  return _mm512_xor_si512(_mm512_set1_epi32(v), _mm512_set1_epi32((int32_t)0x80808080));
}

typedef struct {
  __m512i w128;          /* 128 * wsum (int32) */
  __m512i c_lo, c_hi;    /* bias - input_zp * wsum (int64), channels 0-7 and 8-15 */
  __m512i m_lo, m_hi;    /* multipliers (int64 lanes) */
  __m512i sl_lo, sl_hi;  /* left shifts max(shift, 0) */
  __m512i sr_lo, sr_hi;  /* right shifts max(-shift, 0) */
} requant16;

/* 16 per-channel shifts -> the int64 lanes mbqm8 wants: left max(shift, 0) and right max(-shift, 0) of the
 * shift clamped as ds_quant_multiply clamps it, to [DS_QUANT_SHIFT_MIN, DS_QUANT_SHIFT_MAX]. */
VNNI static inline void split_shifts(__m512i s, __m512i *sl_lo, __m512i *sl_hi, __m512i *sr_lo, __m512i *sr_hi) {
  const __m512i zero = _mm512_setzero_si512();
  s = _mm512_min_epi32(_mm512_max_epi32(s, _mm512_set1_epi32(DS_QUANT_SHIFT_MIN)), _mm512_set1_epi32(DS_QUANT_SHIFT_MAX));
  const __m512i sl = _mm512_max_epi32(s, zero), sr = _mm512_max_epi32(_mm512_sub_epi32(zero, s), zero);
  *sl_lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(sl));
  *sl_hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(sl, 1));
  *sr_lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(sr));
  *sr_hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(sr, 1));
}

VNNI static void requant_prepare(requant16 *q, const ds_i8_fc_params *p, const int32_t *multiplier,
                                 const int32_t *shift, const int32_t *bias, const int32_t *wsum, int o0, int n) {
  int32_t ws[16] = {0}, bs[16] = {0}, ms[16] = {0}, ss[16] = {0};
  for (int j = 0; j < n; j++) {
    ws[j] = wsum[o0 + j];
    bs[j] = bias ? bias[o0 + j] : 0;
    ms[j] = multiplier[o0 + j];
    ss[j] = shift[o0 + j];
  }
  const __m512i w = _mm512_loadu_si512(ws), b = _mm512_loadu_si512(bs), m = _mm512_loadu_si512(ms),
                s = _mm512_loadu_si512(ss);
  q->w128 = _mm512_slli_epi32(w, 7);
  /* input_zp * wsum fits int32 (|.| <= 128 * 127 * VNNI_MAX_IN); the bias is added in int64 */
  const __m512i zw = _mm512_mullo_epi32(_mm512_set1_epi32(p->input_zp), w);
  q->c_lo = _mm512_sub_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(b)),
                             _mm512_cvtepi32_epi64(_mm512_castsi512_si256(zw)));
  q->c_hi = _mm512_sub_epi64(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(b, 1)),
                             _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(zw, 1)));
  q->m_lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(m));
  q->m_hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(m, 1));
  split_shifts(s, &q->sl_lo, &q->sl_hi, &q->sr_lo, &q->sr_hi);
}

/* ds_quant_multiply in int64 lanes (requant.c step by step): saturate to int32, shift left (saturating),
 * SQRDMULH (round half up), rounding right shift (half away from zero). sl, sr: max(shift, 0), max(-shift, 0)
 * of the clamped shift. */
VNNI static inline __m512i mbqm8(__m512i t, __m512i m, __m512i sl, __m512i sr) {
  const __m512i i32min = _mm512_set1_epi64(INT32_MIN), i32max = _mm512_set1_epi64(INT32_MAX);
  t = _mm512_min_epi64(_mm512_max_epi64(t, i32min), i32max);
  t = _mm512_min_epi64(_mm512_max_epi64(_mm512_sllv_epi64(t, sl), i32min), i32max);
  /* high_mul: INT32_MIN * INT32_MIN saturates to INT32_MAX */
  const __mmask8 both_min = _mm512_cmpeq_epi64_mask(t, i32min) & _mm512_cmpeq_epi64_mask(m, i32min);
  __m512i h = _mm512_srai_epi64(_mm512_add_epi64(_mm512_mul_epi32(t, m), _mm512_set1_epi64((int64_t)1 << 30)), 31);
  h = _mm512_mask_mov_epi64(h, both_min, i32max);
  /* shift_round: |h| + half, shifted, sign restored; half = 2^(e-1), 0 for e = 0 */
  const __m512i half = _mm512_srli_epi64(_mm512_sllv_epi64(_mm512_set1_epi64(1), sr), 1);
  const __m512i a = _mm512_srlv_epi64(_mm512_add_epi64(_mm512_abs_epi64(h), half), sr);
  const __mmask8 neg = _mm512_cmplt_epi64_mask(h, _mm512_setzero_si512());
  return _mm512_mask_sub_epi64(a, neg, _mm512_setzero_si512(), a);
}

/* requant_out of int8_ops.c: clamp(zp + MBQM(sat32(t)), lo, hi). */
VNNI static inline __m512i requant8(__m512i t, __m512i m, __m512i sl, __m512i sr, __m512i out_zp, __m512i lo,
                                    __m512i hi) {
  return _mm512_min_epi64(_mm512_max_epi64(_mm512_add_epi64(mbqm8(t, m, sl, sr), out_zp), lo), hi);
}

/* One multiplier for every lane: (M, sl, sr) broadcast. */
typedef struct {
  __m512i m, sl, sr;
} mbqm_const;

VNNI static inline mbqm_const mbqm_const_make(int32_t multiplier, int32_t shift) {
  const int32_t s = shift > DS_QUANT_SHIFT_MAX ? DS_QUANT_SHIFT_MAX : shift < DS_QUANT_SHIFT_MIN ? DS_QUANT_SHIFT_MIN : shift;
  const mbqm_const c = {_mm512_set1_epi64(multiplier), _mm512_set1_epi64(s > 0 ? s : 0),
                        _mm512_set1_epi64(s < 0 ? -s : 0)};
  return c;
}

/* 16 int32 lanes -> int64 halves. */
VNNI static inline __m512i lo8(__m512i v) { return _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)); }
VNNI static inline __m512i hi8(__m512i v) { return _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1)); }
/* Two int64 halves (already within int8) -> 16 bytes. */
VNNI static inline __m128i bytes16(__m512i a, __m512i b) {
  return _mm_unpacklo_epi64(_mm512_cvtepi64_epi8(a), _mm512_cvtepi64_epi8(b));
}

VNNI static void requant_store(const requant16 *q, __m512i acc, const ds_i8_fc_params *p, int8_t *y, int n) {
  const __m512i d = _mm512_sub_epi32(acc, q->w128); /* sum x w, exact */
  const __m512i zp = _mm512_set1_epi64(p->output_zp), lo = _mm512_set1_epi64(p->act_min),
                hi = _mm512_set1_epi64(p->act_max);
  const __m512i t_lo = _mm512_add_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(d)), q->c_lo);
  const __m512i t_hi = _mm512_add_epi64(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(d, 1)), q->c_hi);
  const __m128i b_lo = _mm512_cvtepi64_epi8(requant8(t_lo, q->m_lo, q->sl_lo, q->sr_lo, zp, lo, hi));
  const __m128i b_hi = _mm512_cvtepi64_epi8(requant8(t_hi, q->m_hi, q->sl_hi, q->sr_hi, zp, lo, hi));
  const __m128i bytes = _mm_unpacklo_epi64(b_lo, b_hi);
  _mm_mask_storeu_epi8(y, (__mmask16)((1u << n) - 1u), bytes);
}

VNNI static void fc_vnni(const ds_i8_fc_params *p, const ds_i8_fc_dims *d, const int32_t *multiplier,
                         const int32_t *shift, const int8_t *x, const int8_t *w, const int32_t *bias,
                         const int32_t *wsum, int8_t *y) {
  const int in = d->in, out = d->out, k4n = (in + 3) / 4;
  __m512i wp[VNNI_MAX_IN / 4];
  for (int o0 = 0; o0 < out; o0 += 16) {
    const int n = out - o0 < 16 ? out - o0 : 16;
    pack_rows(wp, w, (size_t)in, in, o0, n);
    requant16 q;
    requant_prepare(&q, p, multiplier, shift, bias, wsum, o0, n);
    int b = 0;
    for (; b + 4 <= d->batch; b += 4) { /* four rows share each packed weight vector */
      const int8_t *x0 = x + (size_t)b * in, *x1 = x0 + in, *x2 = x1 + in, *x3 = x2 + in;
      __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
      for (int k4 = 0; k4 < k4n; k4++) {
        a0 = _mm512_dpbusd_epi32(a0, input_dword(x0, k4, in), wp[k4]);
        a1 = _mm512_dpbusd_epi32(a1, input_dword(x1, k4, in), wp[k4]);
        a2 = _mm512_dpbusd_epi32(a2, input_dword(x2, k4, in), wp[k4]);
        a3 = _mm512_dpbusd_epi32(a3, input_dword(x3, k4, in), wp[k4]);
      }
      requant_store(&q, a0, p, y + (size_t)b * out + o0, n);
      requant_store(&q, a1, p, y + (size_t)(b + 1) * out + o0, n);
      requant_store(&q, a2, p, y + (size_t)(b + 2) * out + o0, n);
      requant_store(&q, a3, p, y + (size_t)(b + 3) * out + o0, n);
    }
    for (; b < d->batch; b++) {
      const int8_t *xr = x + (size_t)b * in;
      __m512i a = _mm512_setzero_si512();
      for (int k4 = 0; k4 < k4n; k4++) a = _mm512_dpbusd_epi32(a, input_dword(xr, k4, in), wp[k4]);
      requant_store(&q, a, p, y + (size_t)b * out + o0, n);
    }
  }
}
/* TFLite ADD (ds_i8_add) on 16 elements at a time. */
VNNI static void add_vnni(const ds_i8_add_params *p, const int8_t *x1, const int8_t *x2, size_t n, int8_t *y) {
  const mbqm_const c1 = mbqm_const_make(p->in1_multiplier, p->in1_shift),
                   c2 = mbqm_const_make(p->in2_multiplier, p->in2_shift),
                   co = mbqm_const_make(p->out_multiplier, p->out_shift);
  const __m512i zp1 = _mm512_set1_epi32(p->in1_zp), zp2 = _mm512_set1_epi32(p->in2_zp),
                zo = _mm512_set1_epi64(p->output_zp), lo = _mm512_set1_epi64(p->act_min),
                hi = _mm512_set1_epi64(p->act_max);
  const __m128i ls = _mm_cvtsi32_si128(p->left_shift);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
    /* (x - zp) << left_shift stays below 2^30 for left_shift <= 22 */
    const __m512i a = _mm512_sll_epi32(_mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, x1 + i)), zp1), ls);
    const __m512i b = _mm512_sll_epi32(_mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, x2 + i)), zp2), ls);
    const __m512i s_lo = _mm512_add_epi64(mbqm8(lo8(a), c1.m, c1.sl, c1.sr), mbqm8(lo8(b), c2.m, c2.sl, c2.sr));
    const __m512i s_hi = _mm512_add_epi64(mbqm8(hi8(a), c1.m, c1.sl, c1.sr), mbqm8(hi8(b), c2.m, c2.sl, c2.sr));
    _mm_mask_storeu_epi8(y + i, m,
                         bytes16(requant8(s_lo, co.m, co.sl, co.sr, zo, lo, hi),
                                 requant8(s_hi, co.m, co.sl, co.sr, zo, lo, hi)));
  }
}

#define ATT_MAX_HD 1024 /* packed keys of one block on the stack: 16 * ATT_MAX_HD bytes */

/* ds_i8_att_scores with VNNI: 16 keys per vector, queries shifted to unsigned as in fc_vnni. */
VNNI static void att_scores_vnni(const ds_i8_matmul_params *p, int T, int hd, int ld, const int8_t *q,
                                 const int8_t *k, int8_t *y) {
  const mbqm_const c = mbqm_const_make(p->multiplier, p->shift);
  const __m512i zo = _mm512_set1_epi64(p->output_zp), lo = _mm512_set1_epi64(p->act_min),
                hi = _mm512_set1_epi64(p->act_max);
  const int k4n = (hd + 3) / 4;
  __m512i kp[ATT_MAX_HD / 4];
  for (int j0 = 0; j0 < T; j0 += 16) {
    const int nj = T - j0 < 16 ? T - j0 : 16;
    pack_rows(kp, k, (size_t)ld, hd, j0, nj);
    int32_t ks[16] = {0};
    for (int j = 0; j < nj; j++)
      for (int d = 0; d < hd; d++) ks[j] += k[(size_t)(j0 + j) * ld + d];
    /* acc = dot + 128 ksum; the exact sum wants dot - a_zp ksum, so take off (128 + a_zp) ksum */
    const __m512i kc = _mm512_mullo_epi32(_mm512_set1_epi32(128 + p->a_zp), _mm512_loadu_si512(ks));
    const __m512i kc_lo = lo8(kc), kc_hi = hi8(kc);
    for (int i = 0; i < T; i++) {
      const int8_t *qi = q + (size_t)i * ld;
      int32_t qs = 0;
      for (int d = 0; d < hd; d++) qs += qi[d];
      const __m512i base = _mm512_set1_epi64((int64_t)hd * p->a_zp * p->b_zp - (int64_t)p->b_zp * qs);
      __m512i acc = _mm512_setzero_si512();
      for (int k4 = 0; k4 < k4n; k4++) acc = _mm512_dpbusd_epi32(acc, input_dword(qi, k4, hd), kp[k4]);
      const __m512i t_lo = _mm512_sub_epi64(_mm512_add_epi64(base, lo8(acc)), kc_lo);
      const __m512i t_hi = _mm512_sub_epi64(_mm512_add_epi64(base, hi8(acc)), kc_hi);
      _mm_mask_storeu_epi8(y + (size_t)i * T + j0, (__mmask16)((1u << nj) - 1u),
                           bytes16(requant8(t_lo, c.m, c.sl, c.sr, zo, lo, hi), requant8(t_hi, c.m, c.sl, c.sr, zo, lo, hi)));
    }
  }
}

/* ds_i8_att_context: 16 columns of the head per vector, int32 products over the keys. */
VNNI static void att_context_vnni(const ds_i8_matmul_params *p, int T, int hd, int ld, const int8_t *probs,
                                  const int8_t *v, int8_t *y) {
  const mbqm_const c = mbqm_const_make(p->multiplier, p->shift);
  const __m512i zo = _mm512_set1_epi64(p->output_zp), lo = _mm512_set1_epi64(p->act_min),
                hi = _mm512_set1_epi64(p->act_max), bzp = _mm512_set1_epi32(p->b_zp);
  for (int i = 0; i < T; i++) {
    const int8_t *pi = probs + (size_t)i * T;
    for (int d0 = 0; d0 < hd; d0 += 16) {
      const __mmask16 m = hd - d0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (hd - d0)) - 1u);
      __m512i acc = _mm512_setzero_si512();
      for (int j = 0; j < T; j++) {
        const int32_t pa = (int32_t)pi[j] - p->a_zp;
        if (pa == 0) continue;
        const __m512i vj = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, v + (size_t)j * ld + d0)), bzp);
        acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(_mm512_set1_epi32(pa), vj));
      }
      _mm_mask_storeu_epi8(y + (size_t)i * ld + d0, m,
                           bytes16(requant8(lo8(acc), c.m, c.sl, c.sr, zo, lo, hi),
                                   requant8(hi8(acc), c.m, c.sl, c.sr, zo, lo, hi)));
    }
  }
}
/* roundf (half away from zero) of 16 floats, exactly: t = trunc(x), plus sign(x) where |x - t| >= 0.5 (x - t is
 * exact for every float). */
VNNI static inline __m512 round_half_away(__m512 x) {
  const __m512 t = _mm512_roundscale_ps(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m512 frac = _mm512_abs_ps(_mm512_sub_ps(x, t));
  const __mmask16 up = _mm512_cmp_ps_mask(frac, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 one = _mm512_castsi512_ps(_mm512_or_si512(
      _mm512_castps_si512(_mm512_set1_ps(1.0f)),
      _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int32_t)0x80000000))));
  return _mm512_mask_add_ps(t, up, t, one);
}

/* ds_i8_layernorm, the same float operations in the same order: the two sums stay sequential scalar loops
 * (their order fixes the rounding), the element-wise dequantize / normalise / quantize run 16 wide. No fused
 * multiply-adds: the portable kernel rounds every product. */
#if defined(__clang__)
#define NO_CONTRACT_ATTR
#define NO_CONTRACT_BODY _Pragma("clang fp contract(off)")
#else
#define NO_CONTRACT_ATTR __attribute__((optimize("fp-contract=off")))
#define NO_CONTRACT_BODY
#endif
NO_CONTRACT_ATTR VNNI static void layernorm_vnni(const ds_qparams *in, const ds_qparams *out, const float *gamma,
                                                 const float *beta, float eps, const int8_t *x, int rows, int cols,
                                                 float *xf, int8_t *y) {
  NO_CONTRACT_BODY
  const __m512i zin = _mm512_set1_epi32(in->zero_point);
  const __m512 sin = _mm512_set1_ps(in->scale), sout = _mm512_set1_ps(out->scale),
               zout = _mm512_set1_ps((float)out->zero_point), qmin = _mm512_set1_ps((float)out->qmin),
               qmax = _mm512_set1_ps((float)out->qmax);
  for (int r = 0; r < rows; r++) {
    const int8_t *xr = x + (size_t)r * cols;
    for (int c = 0; c < cols; c += 16) {
      const __mmask16 m = cols - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - c)) - 1u);
      const __m512i q = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, xr + c)), zin);
      _mm512_mask_storeu_ps(xf + c, m, _mm512_mul_ps(_mm512_cvtepi32_ps(q), sin));
    }
    float mean = 0.0f, var = 0.0f;
    for (int c = 0; c < cols; c++) mean += xf[c];
    mean /= (float)cols;
    for (int c = 0; c < cols; c++) var += (xf[c] - mean) * (xf[c] - mean);
    var /= (float)cols;
    const float rstd = 1.0f / sqrtf(var + eps);
    const __m512 vm = _mm512_set1_ps(mean), vr = _mm512_set1_ps(rstd);
    for (int c = 0; c < cols; c += 16) {
      const __mmask16 m = cols - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - c)) - 1u);
      const __m512 v = _mm512_add_ps(
          _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xf + c), vm), vr),
                        _mm512_maskz_loadu_ps(m, gamma + c)),
          _mm512_maskz_loadu_ps(m, beta + c));
      __m512 code = _mm512_add_ps(round_half_away(_mm512_div_ps(v, sout)), zout);
      /* !(code >= qmin) -> qmin catches NaN too; then code > qmax -> qmax */
      code = _mm512_mask_mov_ps(qmin, _mm512_cmp_ps_mask(code, qmin, _CMP_GE_OQ), code);
      code = _mm512_mask_mov_ps(code, _mm512_cmp_ps_mask(code, qmax, _CMP_GT_OQ), qmax);
      _mm_mask_storeu_epi8(y + (size_t)r * cols + c, m, _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(code)));
    }
  }
}
/* ds_i8_embedding_lookup: each token's row requantized with that row's multiplier, 16 columns at a time. */
VNNI static void embedding_vnni(const ds_i8_embedding_params *p, const ds_i8_embedding_dims *d,
                                const int32_t *multiplier, const int32_t *shift, const int8_t *table,
                                const int32_t *ids, int n, int8_t *y) {
  const __m512i zo = _mm512_set1_epi64(p->output_zp), lo = _mm512_set1_epi64(p->act_min),
                hi = _mm512_set1_epi64(p->act_max);
  for (int t = 0; t < n; t++) {
    const int32_t id = ids[t];
    const mbqm_const c = mbqm_const_make(multiplier[id], shift[id]);
    const int8_t *row = table + (size_t)id * d->dim;
    for (int k = 0; k < d->dim; k += 16) {
      const __mmask16 m = d->dim - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (d->dim - k)) - 1u);
      const __m512i v = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, row + k));
      _mm_mask_storeu_epi8(y + (size_t)t * d->dim + k, m,
                           bytes16(requant8(lo8(v), c.m, c.sl, c.sr, zo, lo, hi),
                                   requant8(hi8(v), c.m, c.sl, c.sr, zo, lo, hi)));
    }
  }
}
/* ds_i8_requant_cols, 16 columns at a time: a block's multipliers and shifts are set up once and every row
 * of the block reuses them. */
VNNI static void requant_cols_vnni(const int32_t *acc, int rows, int cols, const int32_t *mult,
                                   const int32_t *shift, int32_t zp, int32_t lo, int32_t hi, int8_t *out) {
  const __m512i zo = _mm512_set1_epi64(zp), vlo = _mm512_set1_epi64(lo), vhi = _mm512_set1_epi64(hi);
  for (int c0 = 0; c0 < cols; c0 += 16) {
    const int n = cols - c0 < 16 ? cols - c0 : 16;
    const __mmask16 mk = n == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    const __m512i m = _mm512_maskz_loadu_epi32(mk, mult + c0), m_lo = lo8(m), m_hi = hi8(m);
    __m512i sl_lo, sl_hi, sr_lo, sr_hi;
    split_shifts(_mm512_maskz_loadu_epi32(mk, shift + c0), &sl_lo, &sl_hi, &sr_lo, &sr_hi);
    for (int r = 0; r < rows; r++) {
      const __m512i a = _mm512_maskz_loadu_epi32(mk, acc + (size_t)r * cols + c0);
      _mm_mask_storeu_epi8(out + (size_t)r * cols + c0, mk,
                           bytes16(requant8(lo8(a), m_lo, sl_lo, sr_lo, zo, vlo, vhi),
                                   requant8(hi8(a), m_hi, sl_hi, sr_hi, zo, vlo, vhi)));
    }
  }
}
#else
int ds_i8_vnni_available(void) { return 0; }
#endif

int ds_i8_fc_vnni(const ds_i8_fc_params *p, const ds_i8_fc_dims *d, const int32_t *multiplier,
                  const int32_t *shift, const int8_t *x, const int8_t *w, const int32_t *bias,
                  const int32_t *wsum, int8_t *y) {
  if (!p || !d || !multiplier || !shift || !x || !w || !y || !wsum) return -1;
  /* The checks of ds_i8_fc_fast, which it falls back to. */
  if (d->batch < 0 || d->in < 0 || d->out < 0 || p->act_min > p->act_max || p->act_min < INT8_MIN ||
      p->act_max > INT8_MAX)
    return -1;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(DS_NO_VNNI)
  /* zero points within int8 keep input_zp * wsum within int32 */
  if (d->in >= 1 && d->in <= VNNI_MAX_IN && p->input_zp >= INT8_MIN && p->input_zp <= INT8_MAX &&
      ds_i8_vnni_available()) {
    fc_vnni(p, d, multiplier, shift, x, w, bias, wsum, y);
    return 0;
  }
#endif
  return ds_i8_fc_fast(p, d, multiplier, shift, x, w, bias, wsum, y);
}

int ds_i8_add_vnni(const ds_i8_add_params *p, const int8_t *x1, const int8_t *x2, size_t n, int8_t *y) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(DS_NO_VNNI)
  /* the checks of ds_i8_add */
  if (p && x1 && x2 && y && p->left_shift >= 0 && p->left_shift <= 22 && p->act_min >= INT8_MIN &&
      p->act_max <= INT8_MAX && p->act_min <= p->act_max && p->in1_zp >= INT8_MIN && p->in1_zp <= INT8_MAX &&
      p->in2_zp >= INT8_MIN && p->in2_zp <= INT8_MAX && p->output_zp >= INT8_MIN && p->output_zp <= INT8_MAX &&
      ds_i8_vnni_available()) {
    add_vnni(p, x1, x2, n, y);
    return 0;
  }
#endif
  return ds_i8_add(p, x1, x2, n, y);
}

void ds_i8_att_scores_vnni(const ds_i8_matmul_params *p, int T, int hd, int ld, const int8_t *q, const int8_t *k,
                           int32_t *ksum, int8_t *y) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(DS_NO_VNNI)
  if (hd >= 1 && hd <= ATT_MAX_HD && ds_i8_vnni_available()) {
    att_scores_vnni(p, T, hd, ld, q, k, y);
    return;
  }
#endif
  ds_i8_att_scores(p, T, hd, ld, q, k, ksum, y);
}

void ds_i8_att_context_vnni(const ds_i8_matmul_params *p, int T, int hd, int ld, const int8_t *probs,
                            const int8_t *v, int32_t *acc, int8_t *y) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(DS_NO_VNNI)
  if (ds_i8_vnni_available()) {
    att_context_vnni(p, T, hd, ld, probs, v, y);
    return;
  }
#endif
  ds_i8_att_context(p, T, hd, ld, probs, v, acc, y);
}

int ds_i8_layernorm_vnni(const ds_qparams *in, const ds_qparams *out, const float *gamma, const float *beta,
                         float eps, const int8_t *x, int rows, int cols, void *scratch, int8_t *y) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(DS_NO_VNNI)
  /* the checks of ds_i8_layernorm */
  const int ok = in && out && in->scale > 0.0f && isfinite(in->scale) && out->scale > 0.0f &&
                 isfinite(out->scale) && in->qmin >= INT8_MIN && in->qmax <= INT8_MAX && in->qmin <= in->qmax &&
                 out->qmin >= INT8_MIN && out->qmax <= INT8_MAX && out->qmin <= out->qmax && gamma && beta && x &&
                 y && scratch && rows >= 0 && cols > 0 && eps >= 0.0f;
  if (ok && ds_i8_vnni_available()) {
    layernorm_vnni(in, out, gamma, beta, eps, x, rows, cols, scratch, y);
    return 0;
  }
#endif
  return ds_i8_layernorm(in, out, gamma, beta, eps, x, rows, cols, scratch, y);
}

int ds_i8_embedding_lookup_vnni(const ds_i8_embedding_params *p, const ds_i8_embedding_dims *d,
                                const int32_t *multiplier, const int32_t *shift, const int8_t *table,
                                const int32_t *ids, int n, int8_t *y) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(DS_NO_VNNI)
  /* the checks of ds_i8_embedding_lookup, ids included */
  int ok = p && d && multiplier && shift && table && ids && y && n >= 0 && d->vocab >= 0 && d->dim >= 0 &&
           p->act_min >= INT8_MIN && p->act_max <= INT8_MAX && p->act_min <= p->act_max &&
           p->output_zp >= INT8_MIN && p->output_zp <= INT8_MAX;
  for (int t = 0; ok && t < n; t++) ok = ids[t] >= 0 && ids[t] < d->vocab;
  if (ok && ds_i8_vnni_available()) {
    embedding_vnni(p, d, multiplier, shift, table, ids, n, y);
    return 0;
  }
#endif
  return ds_i8_embedding_lookup(p, d, multiplier, shift, table, ids, n, y);
}

void ds_i8_requant_cols_vnni(const int32_t *acc, int rows, int cols, const int32_t *mult, const int32_t *shift,
                             int32_t zp, int32_t lo, int32_t hi, int8_t *out) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(DS_NO_VNNI)
  if (ds_i8_vnni_available()) {
    requant_cols_vnni(acc, rows, cols, mult, shift, zp, lo, hi, out);
    return;
  }
#endif
  ds_i8_requant_cols(acc, rows, cols, mult, shift, zp, lo, hi, out);
}

/* What the mutation program (h5_mutate.c) builds with: HDF5 types by code, values read from the fuzz input or
 * chosen from special numbers, dataspaces (shapes) and whole datasets (h5_make.c). Internal to tests/fuzz. */
#ifndef DS_TESTS_FUZZ_H5_MAKE_H
#define DS_TESTS_FUZZ_H5_MAKE_H

#include <hdf5.h>
#include <stddef.h>

#include "fuzz_util.h"

#define MAX_WRITE (1u << 16)               /* elements written to a dataset at most; larger ones stay unwritten */
#define MAX_DECLARED ((hsize_t)1 << 48)    /* elements a dataset may declare in all */
#define MAX_RANK 4

enum { T_I8, T_U8, T_I16, T_U16, T_I32, T_U32, T_I64, T_U64, T_I32BE, T_F16, T_F32, T_F64, T_F32BE, T_VSTR, T_FSTR,
       T_BOOL, T_COMPOUND, T_BITFIELD, T_OPAQUE, T_ARRAY, T_COUNT };

typedef struct {
  int rank;            /* -1: H5S_NULL, 0: scalar */
  hsize_t dims[MAX_RANK];
} shape;

/* Integers that sit on boundaries the readers check (0, -1, vocabulary-like sizes, type limits). */
extern const long long fzm_int_specials[];
extern const int fzm_n_int_specials;
/* The k-th special float (zeros, NaN, infinities, limits, subnormals), cyclically. */
double fzm_float_special(int k);
/* A link-creation property list that makes missing intermediate groups. */
hid_t fzm_lcpl_intermediate(void);
/* A new HDF5 type for code (one of T_*), its details (string length, array dims...) read from r. */
hid_t fzm_make_type(int code, fz_reader *r);
/* Fills buf (n elements of type t) as the input says; sets *memtype to the type to write them with (caller
 * closes). Returns 1 when buf holds values to write. */
int fzm_fill_values(hid_t t, void *buf, size_t n, fz_reader *r, hid_t *memtype);
/* The dataspace of dataset d as a shape; -1 when it has more than MAX_RANK axes. */
int fzm_shape_of(hid_t d, shape *s);
/* Elements of s (saturating at UINT64_MAX; 0 for H5S_NULL). */
hsize_t fzm_numel(const shape *s);
/* A new dataspace, each axis small, relative to the old one, or huge. */
void fzm_new_shape(fz_reader *r, const shape *old, shape *s);
/* A dataspace of shape s, unlimited along every axis when extendable. */
hid_t fzm_make_space(const shape *s, int extendable);
/* Creates path with type t (taken) and shape s, values from `values` (of memory type vtype) or the input. */
void fzm_new_dataset(hid_t file, const char *path, hid_t t, const shape *s, const void *values, hid_t vtype,
                     fz_reader *r);
/* Reads a whole dataset of at most MAX_WRITE elements as memory type m; NULL if it cannot. */
void *fzm_read_all(hid_t d, hid_t m, const shape *s);

#endif

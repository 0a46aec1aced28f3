/* Dataset-level mutation of an HDF5 file for the teacher-file and checkpoint harnesses: the fuzz input is
 * read as a short program of operations on a copy of a valid base file (made by the project's own writers),
 * each acting on one dataset or root attribute through the HDF5 C API, so that what the validators see is
 * always a well-formed HDF5 file whose *contents* are wrong: a dataset dropped, retyped, reshaped,
 * resized, with bad values, replaced by a group or a link; an attribute missing, retyped or edited.
 *
 * Program: up to FZ_H5_MAX_OPS operations, each one byte of opcode and its operands (h5_mutate.c lists
 * them). Targets are picked by index among the file's datasets (or attributes), or among the names the
 * schema knows, so that absent but meaningful datasets get created too. */
#ifndef DS_TESTS_FUZZ_H5_MUTATE_H
#define DS_TESTS_FUZZ_H5_MUTATE_H

#include "fuzz_util.h"

#define FZ_H5_MAX_OPS 8

typedef struct {
  const char *const *datasets; /* dataset paths the reader knows, e.g. "input_ids", "/params/tok_emb.weight" */
  int n_datasets;
  const char *const *attrs;    /* root attributes the reader knows, e.g. "vocab_size", "format_version" */
  int n_attrs;
} fz_h5_schema;

/* Writes base (n bytes) to path and applies the program read from r. Returns 0, or -1 if the file could not
 * be written (then the input is not worth running). Leaves no HDF5 object open. */
int fz_h5_mutate(const void *base, size_t n, const char *path, const fz_h5_schema *schema, fz_reader *r);

/* HDF5 identifiers (files, datasets, groups, types, attributes, dataspaces, property lists) open in the
 * process beyond those the library holds itself: 0 between executions, or something leaked one. */
long fz_h5_open_objects(void);

/* Reads a whole file into memory (for the bases). */
void *fz_read_file(const char *path, size_t *n);
/* Reads SOURCE_DIR/tests/fuzz/bases/NAME for each of names[0..n) into data[i] (size[i] bytes); a missing base
 * ends the process with its path: a harness without its bases would fuzz nothing. */
void fz_read_bases(const char *source_dir, const char *const *names, int n, void **data, size_t *size);

#endif

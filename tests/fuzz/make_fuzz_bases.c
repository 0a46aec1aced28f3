/* make_fuzz_bases OUT.h5: the "rich" base teacher file of the fuzz harnesses (tests/fuzz/README.md), small
 * and with every optional part the readers know: written by the project's own ds_teacher_writer (input_ids,
 * embeddings, a WordPiece `vocab`, no attention_mask so that the mask comes from pad_id, chunks of 8 rows
 * with the last one partly filled), then `token_embeddings` [vocab_size, D] as float16 (as h5py writes
 * numpy float16) and `hidden_states` [N, L, H] added with the HDF5 C API, as a teacher export script would.
 * Deterministic: the same bytes on every run. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/data.h"

#define N 22
#define L 8
#define D 6
#define H 4

static const char *const vocab[] = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "of", "to", "and", "in", "is", "for", "on", "with",
    "package", "library", "tool", "data", "file", "files", "support", "python", "module", "lib", "##s", "##ing",
    "##ed", "##er", "##ly", "##ion", "un", "##able", "re", "##load", ".", ",", "-", "(", ")", ":", "/", "'", "é",
    "naïve", "中", "##文", "x"};
#define V ((int)(sizeof vocab / sizeof vocab[0]))

static int add_dataset(hid_t f, const char *name, hid_t ftype, int rank, const hsize_t *dims, const float *data) {
  hid_t space = H5Screate_simple(rank, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hsize_t chunk[3] = {8, dims[1], rank > 2 ? dims[2] : 0};
  H5Pset_chunk(dcpl, rank, chunk);
  hid_t d = H5Dcreate2(f, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  const herr_t rc = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  if (d >= 0) H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  return rc < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_fuzz_bases OUT.h5\n");
    return 1;
  }
  ds_teacher_writer_params p = ds_teacher_writer_default_params();
  p.n_rows = N;
  p.seq_len = L;
  p.emb_dim = D;
  p.n_classes = 0;
  p.has_labels = 0;
  p.has_mask = 0;
  p.vocab_size = V;
  p.pad_id = 0;
  p.teacher_name = "fuzz base (rich)";
  p.vocab = vocab;
  p.n_vocab = V;
  p.chunk_rows = 8;
  int32_t ids[N * L];
  float emb[N * D], tok[V * D], hidden[N * L * H];
  unsigned s = 12345;
  for (int i = 0; i < N; i++) {
    const int real = 2 + i % (L - 1);
    for (int t = 0; t < L; t++) {
      s = s * 1103515245u + 12345u;
      ids[i * L + t] = t >= real ? 0 : t == 0 ? 2 : t == real - 1 ? 3 : 5 + (int)((s >> 16) % (V - 5));
    }
  }
  for (int k = 0; k < N * D; k++) emb[k] = (float)sin(0.7 * k);
  for (int k = 0; k < V * D; k++) tok[k] = (float)cos(0.3 * k) * 0.5f;
  for (int k = 0; k < N * L * H; k++) hidden[k] = (float)sin(0.1 * k) * 2.0f;
  ds_err err;
  ds_teacher_writer *w = NULL;
  if (ds_teacher_writer_create(&w, argv[1], &p, &err)) {
    fprintf(stderr, "make_fuzz_bases: %s\n", err.msg);
    return 1;
  }
  const int bad = ds_teacher_writer_append(w, N, ids, NULL, NULL, emb, NULL, &err);
  if (ds_teacher_writer_close(w, bad ? NULL : &err) || bad) {
    fprintf(stderr, "make_fuzz_bases: %s\n", err.msg);
    return 1;
  }
  hid_t f = H5Fopen(argv[1], H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t f16 = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(f16, 15, 10, 5, 0, 10);
  H5Tset_size(f16, 2);
  H5Tset_ebias(f16, 15);
  const hsize_t tdims[2] = {V, D}, hdims[3] = {N, L, H};
  const int rc = f < 0 || add_dataset(f, "token_embeddings", f16, 2, tdims, tok) ||
                 add_dataset(f, "hidden_states", H5T_IEEE_F32LE, 3, hdims, hidden);
  H5Tclose(f16);
  if (f >= 0) H5Fclose(f);
  if (rc) fprintf(stderr, "make_fuzz_bases: cannot add token_embeddings / hidden_states to %s\n", argv[1]);
  return rc ? 1 : 0;
}

package io.github.attention.internal.core;

/**
 * Block operations that only have shapes: what {@link Plan} reads of a backend (its widths and whether it
 * reads in place), so that plans can be tested for any backend without one. Computing throws.
 */
record ShapeOps(int keyStep, int dimStep, int sumLanes, int inPlaceMultiple, boolean stored)
    implements BlockOps {

  /** Shaped like the vector backend at 512 bits. */
  static final ShapeOps VECTOR_512 = new ShapeOps(64, 16, 16, 16, true);
  /** Shaped like the scalar backend. */
  static final ShapeOps SCALAR = new ShapeOps(1, 1, 1, 1, false);
  /** A backend that never reads in place. */
  static final ShapeOps PACKING_ONLY = new ShapeOps(64, 16, 16, 0, false);

  @Override
  public int tileFloats() {
    return 0;
  }

  @Override
  public boolean readsInPlace(int headDim) {
    return inPlaceMultiple > 0 && headDim % inPlaceMultiple == 0;
  }

  @Override
  public boolean readsStored(int headDim) {
    return stored && readsInPlace(headDim);
  }

  @Override
  public void scoresStored(float[] q, int[] qOffset, int rows, int headDim, java.lang.foreign.MemorySegment k,
      io.github.attention.kernel.KvType type, long[] rowAt, float[] rowScale, int from, int to, float[] s,
      float[] tile) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void accumulateStoredKeys(float[] p, int rows, int from, int to, java.lang.foreign.MemorySegment v,
      io.github.attention.kernel.KvType type, long[] rowAt, float[] rowScale, float[] o, int stride,
      BlockRows seen) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void prefetch(java.lang.foreign.MemorySegment m, long from, long length) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void widen(java.lang.foreign.MemorySegment src, io.github.attention.kernel.KvType type, long index,
      long tokenStride, int n, int heads, int headDim, float[] scales, int stride, float[] dst, int dstOffset) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void pack(float[] src, int kvStride, int offset, int n, int heads, int headDim, int stride, float[] dst,
      int dstOffset) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void transposeKeys(float[] keys, int offset, int stride, int n, int headDim, float[] kt, int ktOffset,
      float[] tile) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void scores(float[] q, int[] qOffset, int rows, int headDim, float[] kt, int ktOffset, int width,
      float[] s, BlockRows seen) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void scoresInPlace(float[] q, int[] qOffset, int rows, int headDim, float[] k, int offset, int stride,
      int from, int to, float[] s, float[] tile) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void rowMaxima(float[] s, int width, BlockRows rows, float[] blockMax) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void exponentiate(float[] s, int rows, int width, float factor, float[] shift, float[] alpha,
      float[] sum, BlockRows seen) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void rescale(int rows, float[] alpha, float[] o, int stride) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void accumulateKeys(float[] p, int rows, int from, int to, float[] values, int valueOffset,
      int valueStride, float[] o, int stride, BlockRows seen) {
    throw new UnsupportedOperationException();
  }

  @Override
  public float rowSum(float[] sum, int r) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void addScaled(float[] src, int from, float weight, int length, float[] acc) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void divide(float[] src, int from, float divisor, int headDim, float[] out, int dst) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void prefetch(float[] a, int from, int length) {
    throw new UnsupportedOperationException();
  }
}

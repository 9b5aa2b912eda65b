package io.github.attention.kernel;

/**
 * A linear map {@code y = x·Wᵀ + b} over rows of {@code x}, as PyTorch's {@code nn.Linear}: {@code W} is
 * {@code [out][in]}, {@code x} is {@code [rows][in]}, {@code y} is {@code [rows][out]}. Immutable: the
 * weights are copied (and rearranged for the backend) on construction.
 *
 * <p>Work items are (block of {@link #COLUMN_BLOCK} output columns, block of {@link #ROW_BLOCK} rows); every
 * output is computed from the same operations in the same order whichever item or thread computes it
 * (a plain sum over {@code in}, then the bias), so results do not depend on the thread count.
 */
abstract class Projection {

  /** Rows per work item. */
  static final int ROW_BLOCK = 96;
  /** Output columns per work item. */
  static final int COLUMN_BLOCK = 64;

  private static final ThreadLocal<Apply> CALLS = ThreadLocal.withInitial(Apply::new);

  final int out;
  final int in;

  Projection(int out, int in) {
    this.out = out;
    this.in = in;
  }

  /**
   * The projection for {@code kernel}'s backend: register-blocked SIMD for the vector kernel, plain Java
   * otherwise. Asking the kernel keeps the Vector API classes unlinked when the scalar kernel is used.
   */
  static Projection of(AttentionKernel kernel, float[] weights, float[] bias, int out, int in) {
    return kernel instanceof TiledAttention tiled
        ? tiled.projection(weights, bias, out, in)
        : new ScalarProjection(weights, bias, out, in);
  }

  /**
   * {@code y[yOffset + r·out + o] = Σ_i x[xOffset + r·in + i] · W[o][i] + b[o]} for {@code r < rows}; arguments
   * are checked by the caller.
   */
  final void apply(float[] x, int xOffset, int rows, float[] y, int yOffset, Parallelism parallelism) {
    Apply call = CALLS.get();
    call.set(this, x, xOffset, rows, y, yOffset);
    try {
      parallelism.run(call, call.items);
    } finally {
      call.clear();
    }
  }

  /** Rows {@code r0 .. r1-1}, columns {@code c0 .. c1-1} of {@link #apply}. */
  abstract void block(float[] x, int xOffset, int r0, int r1, int c0, int c1, float[] y, int yOffset);

  /** One {@link #apply} call, reused by its thread. */
  private static final class Apply implements Parallelism.Work {
    Projection projection;
    float[] x;
    float[] y;
    int xOffset;
    int yOffset;
    int rows;
    int rowBlocks;
    int items;

    void set(Projection projection, float[] x, int xOffset, int rows, float[] y, int yOffset) {
      this.projection = projection;
      this.x = x;
      this.xOffset = xOffset;
      this.rows = rows;
      this.y = y;
      this.yOffset = yOffset;
      rowBlocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
      items = rowBlocks * ((projection.out + COLUMN_BLOCK - 1) / COLUMN_BLOCK);
    }

    @Override
    public void run(int item) {
      int c0 = item / rowBlocks * COLUMN_BLOCK;
      int r0 = item % rowBlocks * ROW_BLOCK;
      projection.block(x, xOffset, r0, Math.min(rows, r0 + ROW_BLOCK), c0,
          Math.min(projection.out, c0 + COLUMN_BLOCK), y, yOffset);
    }

    void clear() {
      projection = null;
      x = null;
      y = null;
    }
  }
}

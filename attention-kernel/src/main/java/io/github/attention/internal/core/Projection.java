package io.github.attention.internal.core;

import io.github.attention.internal.parallel.Work;
import io.github.attention.internal.parallel.WorkerTeam;

/**
 * A linear map {@code y = x·Wᵀ + b} over rows of {@code x}, as PyTorch's {@code nn.Linear}: {@code W} is
 * {@code [out][in]}, {@code x} is {@code [rows][in]}, {@code y} is {@code [rows][out]}; the arithmetic is the
 * backend's {@link LinearMap}. Immutable.
 *
 * <p>Work items are (block of {@link #COLUMN_BLOCK} output columns, block of {@link #ROW_BLOCK} rows);
 * every output is computed by the same operations in the same order whichever item or thread computes it,
 * so results do not depend on the thread count.
 */
public final class Projection {

  /** Rows per work item. */
  public static final int ROW_BLOCK = 96;
  /** Output columns per work item. */
  public static final int COLUMN_BLOCK = 64;

  private final LinearMap map;

  /**
   * @param map the backend's matrix product
   */
  public Projection(LinearMap map) {
    this.map = map;
  }

  /** @return output columns */
  public int out() {
    return map.out();
  }

  /** @return input columns */
  public int in() {
    return map.in();
  }

  /**
   * One weight (see {@link LinearMap#weight}).
   *
   * @param o output column
   * @param i input column
   * @return {@code W[o][i]}
   */
  public float weight(int o, int i) {
    return map.weight(o, i);
  }

  /**
   * One bias term (see {@link LinearMap#bias}).
   *
   * @param o output column
   * @return {@code b[o]}, 0 without a bias
   */
  public float bias(int o) {
    return map.bias(o);
  }

  /**
   * {@code y[yOffset + r·out + o] = Σ_i x[xOffset + r·in + i] · W[o][i] + b[o]} for {@code r < rows}, on the
   * team's threads; arguments are checked by the caller.
   *
   * @throws IllegalStateException if the team is closed (nothing is written)
   */
  public void apply(float[] x, int xOffset, int rows, float[] y, int yOffset, WorkerTeam team) {
    Apply call = Workspace.current().projection;
    call.open(map, x, xOffset, rows, y, yOffset);
    try {
      team.run(call, call.items);
    } finally {
      call.close();
    }
  }

  /** One {@link #apply} call in progress, kept by the calling thread's workspace and reused. */
  static final class Apply implements Work {
    private LinearMap map;
    private float[] x;
    private float[] y;
    private int xOffset;
    private int yOffset;
    private int rows;
    private int rowBlocks;
    int items;

    void open(LinearMap map, float[] x, int xOffset, int rows, float[] y, int yOffset) {
      this.map = map;
      this.x = x;
      this.xOffset = xOffset;
      this.rows = rows;
      this.y = y;
      this.yOffset = yOffset;
      rowBlocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
      items = rowBlocks * ((map.out() + COLUMN_BLOCK - 1) / COLUMN_BLOCK);
    }

    @Override
    public void run(int item) {
      int c0 = item / rowBlocks * COLUMN_BLOCK;
      int r0 = item % rowBlocks * ROW_BLOCK;
      float[] tile = Workspace.current().tile(map.tileFloats());
      map.block(x, xOffset, r0, Math.min(rows, r0 + ROW_BLOCK), c0, Math.min(map.out(), c0 + COLUMN_BLOCK), y,
          yOffset, tile);
    }

    void close() {
      map = null;
      x = null;
      y = null;
    }
  }
}

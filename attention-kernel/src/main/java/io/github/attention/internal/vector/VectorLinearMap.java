package io.github.attention.internal.vector;

import static io.github.attention.internal.vector.Species.F;
import static io.github.attention.internal.vector.Species.L;

import io.github.attention.internal.core.LinearMap;
import jdk.incubator.vector.FloatVector;

/**
 * The Vector API {@link LinearMap}. The weights are rearranged once, on construction, into panels of
 * {@code NR = 4} vectors of output columns, {@code panel[i][c] = W[p·NR + c][i]} (zero past {@code out}), so
 * that a micro-kernel broadcasts one input value and multiplies it into whole vectors of outputs: no dot
 * product ever needs a horizontal reduction (the layout of a packed B panel in BLIS, Van Zee and van de Geijn
 * 2015). The micro-kernel keeps a 6 rows × 4 vectors tile of outputs in 24 registers: per input index, 4
 * weight loads and 6 broadcasts feed 24 FMAs. With 16 vector registers ({@link Registers#FEW}) it takes
 * the panel in two halves of 6 × 2 vectors instead (12 accumulators; the same sums). A panel of 1024 inputs
 * is 256 KiB at 512 bits, so it stays in L2 while the rows of a work item stream past it.
 */
final class VectorLinearMap implements LinearMap {

  /** Output columns per panel: a multiple of it is the projection's column block (64). */
  static final int NR = 4 * L;
  private static final int MR = 6;

  private final int out;
  private final int in;

  /** Panels {@code [out/NR][in][NR]}. */
  private final float[] panels;
  /** {@code [panels·NR]}, zeros past {@code out} and when there is no bias. */
  private final float[] bias;

  VectorLinearMap(float[] weights, float[] bias, int out, int in) {
    this.out = out;
    this.in = in;
    int panelCount = (out + NR - 1) / NR;
    this.panels = new float[panelCount * NR * in];
    for (int o = 0; o < out; o++) {
      int base = o / NR * NR * in + o % NR;
      for (int i = 0; i < in; i++) {
        panels[base + i * NR] = weights[o * in + i];
      }
    }
    this.bias = new float[panelCount * NR];
    if (bias != null) {
      System.arraycopy(bias, 0, this.bias, 0, out);
    }
  }

  /**
   * Floats of the panels for {@code out × in} weights: {@code out} rounded up to whole panels.
   *
   * @return the size, which may exceed what a Java array holds
   */
  static long panelFloats(long out, long in) {
    return (out + NR - 1) / NR * NR * in;
  }

  /** Reads the panels back: {@code W[o][i]} is at {@code panel o/NR, row i, column o mod NR}. */
  @Override
  public float weight(int o, int i) {
    return panels[o / NR * NR * in + i * NR + o % NR];
  }

  @Override
  public float bias(int o) {
    return bias[o];
  }

  @Override
  public int out() {
    return out;
  }

  @Override
  public int in() {
    return in;
  }

  /** One tile of {@code MR × NR} outputs, staged before the bias and the valid columns are written. */
  @Override
  public int tileFloats() {
    return MR * NR;
  }

  @Override
  public void block(float[] x, int xOffset, int r0, int r1, int c0, int c1, float[] y, int yOffset,
      float[] tile) {
    for (int p = c0 / NR; p * NR < c1; p++) {
      int panel = p * NR * in;
      int first = p * NR;
      int columns = Math.min(c1, first + NR) - first;
      int r = r0;
      for (; r + MR <= r1; r += MR) {
        if (Registers.FEW) {
          tile6x2(x, xOffset + r * in, in, panels, panel, 0, tile);
          tile6x2(x, xOffset + r * in, in, panels, panel, 2 * L, tile);
        } else {
          tile6(x, xOffset + r * in, in, panels, panel, tile);
        }
        store(tile, MR, r, first, columns, y, yOffset);
      }
      for (; r < r1; r++) {
        tile1(x, xOffset + r * in, in, panels, panel, tile);
        store(tile, 1, r, first, columns, y, yOffset);
      }
    }
  }

  /** Adds the bias to {@code rows} rows of the tile and writes their valid columns to {@code y}. */
  private void store(float[] tile, int rows, int r, int first, int columns, float[] y, int yOffset) {
    for (int row = 0; row < rows; row++) {
      int to = yOffset + (r + row) * out + first;
      int from = row * NR;
      for (int c = 0; c < columns; c++) {
        y[to + c] = tile[from + c] + bias[first + c];
      }
    }
  }

  /** Six rows ({@code x[x0 + row·in + i]}) × one panel: 24 accumulators. */
  private static void tile6(float[] x, int x0, int in, float[] w, int panel, float[] tile) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    FloatVector a40 = a00, a41 = a00, a42 = a00, a43 = a00;
    FloatVector a50 = a00, a51 = a00, a52 = a00, a53 = a00;
    int x1 = x0 + in;
    int x2 = x1 + in;
    int x3 = x2 + in;
    int x4 = x3 + in;
    int x5 = x4 + in;
    for (int i = 0, wi = panel; i < in; i++, wi += NR) {
      FloatVector w0 = FloatVector.fromArray(F, w, wi);
      FloatVector w1 = FloatVector.fromArray(F, w, wi + L);
      FloatVector w2 = FloatVector.fromArray(F, w, wi + 2 * L);
      FloatVector w3 = FloatVector.fromArray(F, w, wi + 3 * L);
      FloatVector b = FloatVector.broadcast(F, x[x0 + i]);
      a00 = w0.fma(b, a00);
      a01 = w1.fma(b, a01);
      a02 = w2.fma(b, a02);
      a03 = w3.fma(b, a03);
      b = FloatVector.broadcast(F, x[x1 + i]);
      a10 = w0.fma(b, a10);
      a11 = w1.fma(b, a11);
      a12 = w2.fma(b, a12);
      a13 = w3.fma(b, a13);
      b = FloatVector.broadcast(F, x[x2 + i]);
      a20 = w0.fma(b, a20);
      a21 = w1.fma(b, a21);
      a22 = w2.fma(b, a22);
      a23 = w3.fma(b, a23);
      b = FloatVector.broadcast(F, x[x3 + i]);
      a30 = w0.fma(b, a30);
      a31 = w1.fma(b, a31);
      a32 = w2.fma(b, a32);
      a33 = w3.fma(b, a33);
      b = FloatVector.broadcast(F, x[x4 + i]);
      a40 = w0.fma(b, a40);
      a41 = w1.fma(b, a41);
      a42 = w2.fma(b, a42);
      a43 = w3.fma(b, a43);
      b = FloatVector.broadcast(F, x[x5 + i]);
      a50 = w0.fma(b, a50);
      a51 = w1.fma(b, a51);
      a52 = w2.fma(b, a52);
      a53 = w3.fma(b, a53);
    }
    a00.intoArray(tile, 0);
    a01.intoArray(tile, L);
    a02.intoArray(tile, 2 * L);
    a03.intoArray(tile, 3 * L);
    a10.intoArray(tile, NR);
    a11.intoArray(tile, NR + L);
    a12.intoArray(tile, NR + 2 * L);
    a13.intoArray(tile, NR + 3 * L);
    a20.intoArray(tile, 2 * NR);
    a21.intoArray(tile, 2 * NR + L);
    a22.intoArray(tile, 2 * NR + 2 * L);
    a23.intoArray(tile, 2 * NR + 3 * L);
    a30.intoArray(tile, 3 * NR);
    a31.intoArray(tile, 3 * NR + L);
    a32.intoArray(tile, 3 * NR + 2 * L);
    a33.intoArray(tile, 3 * NR + 3 * L);
    a40.intoArray(tile, 4 * NR);
    a41.intoArray(tile, 4 * NR + L);
    a42.intoArray(tile, 4 * NR + 2 * L);
    a43.intoArray(tile, 4 * NR + 3 * L);
    a50.intoArray(tile, 5 * NR);
    a51.intoArray(tile, 5 * NR + L);
    a52.intoArray(tile, 5 * NR + 2 * L);
    a53.intoArray(tile, 5 * NR + 3 * L);
  }

  /**
   * Six rows × half a panel (2 vectors from column {@code half}): the same sums as {@link #tile6} with 12
   * accumulators, for machines with 16 vector registers, where tile6's 24 accumulators cannot stay in them.
   */
  private static void tile6x2(float[] x, int x0, int in, float[] w, int panel, int half, float[] tile) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00;
    FloatVector a10 = a00, a11 = a00;
    FloatVector a20 = a00, a21 = a00;
    FloatVector a30 = a00, a31 = a00;
    FloatVector a40 = a00, a41 = a00;
    FloatVector a50 = a00, a51 = a00;
    int x1 = x0 + in;
    int x2 = x1 + in;
    int x3 = x2 + in;
    int x4 = x3 + in;
    int x5 = x4 + in;
    for (int i = 0, wi = panel + half; i < in; i++, wi += NR) {
      FloatVector w0 = FloatVector.fromArray(F, w, wi);
      FloatVector w1 = FloatVector.fromArray(F, w, wi + L);
      FloatVector b = FloatVector.broadcast(F, x[x0 + i]);
      a00 = w0.fma(b, a00);
      a01 = w1.fma(b, a01);
      b = FloatVector.broadcast(F, x[x1 + i]);
      a10 = w0.fma(b, a10);
      a11 = w1.fma(b, a11);
      b = FloatVector.broadcast(F, x[x2 + i]);
      a20 = w0.fma(b, a20);
      a21 = w1.fma(b, a21);
      b = FloatVector.broadcast(F, x[x3 + i]);
      a30 = w0.fma(b, a30);
      a31 = w1.fma(b, a31);
      b = FloatVector.broadcast(F, x[x4 + i]);
      a40 = w0.fma(b, a40);
      a41 = w1.fma(b, a41);
      b = FloatVector.broadcast(F, x[x5 + i]);
      a50 = w0.fma(b, a50);
      a51 = w1.fma(b, a51);
    }
    a00.intoArray(tile, half);
    a01.intoArray(tile, half + L);
    a10.intoArray(tile, NR + half);
    a11.intoArray(tile, NR + half + L);
    a20.intoArray(tile, 2 * NR + half);
    a21.intoArray(tile, 2 * NR + half + L);
    a30.intoArray(tile, 3 * NR + half);
    a31.intoArray(tile, 3 * NR + half + L);
    a40.intoArray(tile, 4 * NR + half);
    a41.intoArray(tile, 4 * NR + half + L);
    a50.intoArray(tile, 5 * NR + half);
    a51.intoArray(tile, 5 * NR + half + L);
  }

  /** One row × one panel: the same sums as {@link #tile6}, for the last rows and for decoding. */
  private static void tile1(float[] x, int x0, int in, float[] w, int panel, float[] tile) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0, wi = panel; i < in; i++, wi += NR) {
      FloatVector b = FloatVector.broadcast(F, x[x0 + i]);
      a0 = FloatVector.fromArray(F, w, wi).fma(b, a0);
      a1 = FloatVector.fromArray(F, w, wi + L).fma(b, a1);
      a2 = FloatVector.fromArray(F, w, wi + 2 * L).fma(b, a2);
      a3 = FloatVector.fromArray(F, w, wi + 3 * L).fma(b, a3);
    }
    a0.intoArray(tile, 0);
    a1.intoArray(tile, L);
    a2.intoArray(tile, 2 * L);
    a3.intoArray(tile, 3 * L);
  }
}

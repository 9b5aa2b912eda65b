package io.github.attention.layer;

import io.github.attention.internal.core.Backend;
import io.github.attention.internal.core.Workspace;
import java.util.Arrays;

/**
 * Rotary position embeddings (RoPE; Su et al. 2021, "RoFormer"): the layer rotates each head's query and
 * key by angles proportional to the token's position before attention, so that {@code q·k} depends on the
 * positions only through their difference. Pair {@code i} of a head ({@code 0 <= i < rotaryDim/2}) turns by
 * {@code position · f_i} with {@code f_i = theta^(−2i/rotaryDim)} (then scaled, see below); dimensions from
 * {@code rotaryDim} on are left alone (partial rotary).
 *
 * <p>Pairings: {@link Pairing#HALF_SPLIT} pairs dimension {@code i} with {@code i + rotaryDim/2} (Llama,
 * NeoX, Hugging Face's {@code rotate_half}); {@link Pairing#INTERLEAVED} pairs {@code 2i} with
 * {@code 2i + 1} (GPT-J, Meta's original Llama code). Scalings of the frequencies: {@link #withLinearScaling}
 * divides every {@code f_i} by the factor (positions stretched); {@link #withLlama3Scaling} is Llama 3.1's
 * rule (long wavelengths divided by the factor, short ones kept, a smooth blend between).
 *
 * <p>Arithmetic: angles in double ({@code position · f_i}), {@code cos} and {@code sin} by {@link Math}
 * rounded to float once, then {@code x' = x₀·c − x₁·s}, {@code y' = x₀·s + x₁·c} in float. Immutable.
 */
public final class RotaryEmbedding {

  /** Which dimensions turn together. */
  public enum Pairing {
    /** {@code (i, i + rotaryDim/2)}: Llama, NeoX, Hugging Face. */
    HALF_SPLIT,
    /** {@code (2i, 2i + 1)}: GPT-J, Meta's original code. */
    INTERLEAVED
  }

  private final double theta;
  private final int rotaryDim;
  private final Pairing pairing;
  private final double[] frequencies;
  private final String scaling;

  private RotaryEmbedding(double theta, int rotaryDim, Pairing pairing, double[] frequencies, String scaling) {
    this.theta = theta;
    this.rotaryDim = rotaryDim;
    this.pairing = pairing;
    this.frequencies = frequencies;
    this.scaling = scaling;
  }

  /**
   * Unscaled rotary embeddings.
   *
   * @param theta the base, finite and above 1 (Llama 2: 10000, Llama 3: 500000)
   * @param rotaryDim rotated dimensions per head: even, at least 0 (0: no rotation); at most the layer's
   *     head width (checked when the layer is built)
   * @param pairing which dimensions turn together
   * @return the embedding
   * @throws IllegalArgumentException if {@code theta} or {@code rotaryDim} is invalid
   * @throws NullPointerException if {@code pairing} is null
   */
  public static RotaryEmbedding of(double theta, int rotaryDim, Pairing pairing) {
    if (!(theta > 1) || Double.isInfinite(theta)) {
      throw new IllegalArgumentException("theta must be finite and above 1, got " + theta);
    }
    if (rotaryDim < 0 || rotaryDim % 2 != 0) {
      throw new IllegalArgumentException("rotaryDim must be even and at least 0, got " + rotaryDim);
    }
    java.util.Objects.requireNonNull(pairing, "pairing");
    double[] f = new double[rotaryDim / 2];
    for (int i = 0; i < f.length; i++) {
      f[i] = Math.pow(theta, -2.0 * i / rotaryDim);
    }
    return new RotaryEmbedding(theta, rotaryDim, pairing, f, "none");
  }

  /**
   * This embedding with every frequency divided by {@code factor} (Hugging Face's {@code "linear"}).
   *
   * @param factor finite, at least 1
   * @return the scaled embedding
   * @throws IllegalArgumentException if {@code factor} is invalid
   */
  public RotaryEmbedding withLinearScaling(double factor) {
    if (!(factor >= 1) || Double.isInfinite(factor)) {
      throw new IllegalArgumentException("factor must be finite and at least 1, got " + factor);
    }
    double[] f = frequencies.clone();
    for (int i = 0; i < f.length; i++) {
      f[i] /= factor;
    }
    return new RotaryEmbedding(theta, rotaryDim, pairing, f, "linear " + factor);
  }

  /**
   * This embedding with Llama 3.1's frequency scaling ({@code "llama3"}): with wavelength
   * {@code λ = 2π/f}, frequencies of {@code λ > originalMax/lowFreqFactor} are divided by {@code factor},
   * those of {@code λ < originalMax/highFreqFactor} kept, and between them blended with
   * {@code s = (originalMax/λ − lowFreqFactor)/(highFreqFactor − lowFreqFactor)}:
   * {@code (1 − s)·f/factor + s·f}.
   *
   * @param factor at least 1 (Llama 3.1: 8)
   * @param lowFreqFactor (Llama 3.1: 1)
   * @param highFreqFactor above {@code lowFreqFactor} (Llama 3.1: 4)
   * @param originalMaxPositions the context length trained on (Llama 3.1: 8192)
   * @return the scaled embedding
   * @throws IllegalArgumentException if a parameter is invalid
   */
  public RotaryEmbedding withLlama3Scaling(double factor, double lowFreqFactor, double highFreqFactor,
      int originalMaxPositions) {
    if (!(factor >= 1) || Double.isInfinite(factor) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor)
        || Double.isInfinite(highFreqFactor) || originalMaxPositions < 1) {
      throw new IllegalArgumentException("llama3 scaling needs factor >= 1, 0 < lowFreqFactor < highFreqFactor and"
          + " originalMaxPositions >= 1; got " + factor + ", " + lowFreqFactor + ", " + highFreqFactor + ", "
          + originalMaxPositions);
    }
    double lowWavelength = originalMaxPositions / lowFreqFactor;
    double highWavelength = originalMaxPositions / highFreqFactor;
    double[] f = frequencies.clone();
    for (int i = 0; i < f.length; i++) {
      double wavelength = 2 * Math.PI / f[i];
      if (wavelength > lowWavelength) {
        f[i] /= factor;
      } else if (wavelength >= highWavelength) {
        double s = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        f[i] = (1 - s) * f[i] / factor + s * f[i];
      }
    }
    return new RotaryEmbedding(theta, rotaryDim, pairing, f, "llama3 " + factor + "/" + lowFreqFactor + "/"
        + highFreqFactor + "/" + originalMaxPositions);
  }

  /** {@return the base} */
  public double theta() {
    return theta;
  }

  /** {@return rotated dimensions per head} */
  public int rotaryDim() {
    return rotaryDim;
  }

  /** {@return which dimensions turn together} */
  public Pairing pairing() {
    return pairing;
  }

  /** {@return the frequencies {@code f_i} after scaling, radians per position, {@code [rotaryDim/2]} (a copy)} */
  public double[] frequencies() {
    return frequencies.clone();
  }

  /**
   * The two dimensions of pair {@code i}.
   *
   * @param i the pair, {@code 0 <= i < rotaryDim/2}
   * @return the first one; the second is {@link #partner}
   */
  int first(int i) {
    return pairing == Pairing.HALF_SPLIT ? i : 2 * i;
  }

  int partner(int i) {
    return pairing == Pairing.HALF_SPLIT ? i + rotaryDim / 2 : 2 * i + 1;
  }

  /** Positions whose cos and sin are kept in {@link #table}; beyond them, computed per call. */
  static final int TABLE_POSITIONS = 16384;
  /**
   * cos then sin of every pair, {@code [position][2·pairs]}, for positions below its length; grown (never
   * beyond {@link #TABLE_POSITIONS}) by copying, and published whole, so readers need no lock.
   */
  private volatile float[] table = new float[0];

  /** cos then sin of every pair at {@code position} into {@code cs} from {@code at}: the float values used. */
  private void angles(int position, float[] cs, int at) {
    int pairs = rotaryDim / 2;
    for (int i = 0; i < pairs; i++) {
      double angle = (double) position * frequencies[i];
      cs[at + i] = (float) Math.cos(angle);
      cs[at + pairs + i] = (float) Math.sin(angle);
    }
  }

  /** The table, grown to cover positions below {@code end} (at most {@link #TABLE_POSITIONS}). */
  private float[] table(int end) {
    int width = rotaryDim;
    float[] t = table;
    int want = Math.min(TABLE_POSITIONS, end);
    if (t.length / Math.max(1, width) >= want) {
      return t;
    }
    synchronized (this) {
      t = table;
      int have = t.length / Math.max(1, width);
      if (have < want) {
        int size = Math.min(TABLE_POSITIONS, Math.max(want, 2 * have));
        float[] grown = Arrays.copyOf(t, size * width);
        for (int p = have; p < size; p++) {
          angles(p, grown, p * width);
        }
        table = grown;
        t = grown;
      }
      return t;
    }
  }

  /**
   * Rotates {@code tokens} rows of {@code heads} heads in place, row {@code t} at position {@code firstPosition
   * + t}: rows {@code [tokens][heads][headDim]} from {@code offset}. Float arithmetic as the class says; the
   * half-split pairing through the backend's {@link Backend#rotateHalves} (vectors on the vector backend,
   * the same bits), the interleaved one in plain loops. cos and sin come from a table of the first
   * {@link #TABLE_POSITIONS} positions (built once, grown as positions are reached; the same float values as
   * computed on the fly), beyond it from the thread's scratch.
   */
  void rotate(float[] rows, int offset, int tokens, int heads, int headDim, int firstPosition, Backend backend) {
    int pairs = rotaryDim / 2;
    float[] t = table(firstPosition + tokens);
    float[] scratch = null;
    for (int k = 0; k < tokens; k++) {
      int position = firstPosition + k;
      float[] cs;
      int at;
      if (position < t.length / Math.max(1, rotaryDim)) {
        cs = t;
        at = position * rotaryDim;
      } else {
        scratch = scratch != null ? scratch : Workspace.current().rotary(rotaryDim);
        angles(position, scratch, 0);
        cs = scratch;
        at = 0;
      }
      for (int h = 0; h < heads; h++) {
        int base = offset + (k * heads + h) * headDim;
        if (pairing == Pairing.HALF_SPLIT) {
          backend.rotateHalves(rows, base, pairs, cs, at);
        } else {
          for (int i = 0; i < pairs; i++) {
            float x0 = rows[base + 2 * i];
            float x1 = rows[base + 2 * i + 1];
            rows[base + 2 * i] = x0 * cs[at + i] - x1 * cs[at + pairs + i];
            rows[base + 2 * i + 1] = x0 * cs[at + pairs + i] + x1 * cs[at + i];
          }
        }
      }
    }
  }

  /** {@link #rotate(float[], int, int, int, int, int, Backend)} in plain Java (the trace's float steps). */
  void rotate(float[] rows, int offset, int tokens, int heads, int headDim, int firstPosition) {
    rotate(rows, offset, tokens, heads, headDim, firstPosition, io.github.attention.internal.scalar.ScalarBackend.INSTANCE);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RotaryEmbedding r && r.rotaryDim == rotaryDim && r.pairing == pairing
        && Double.compare(r.theta, theta) == 0 && Arrays.equals(r.frequencies, frequencies);
  }

  @Override
  public int hashCode() {
    return Double.hashCode(theta) * 31 + Arrays.hashCode(frequencies) + rotaryDim + pairing.hashCode();
  }

  @Override
  public String toString() {
    return "RotaryEmbedding[theta " + theta + ", rotaryDim " + rotaryDim + ", " + pairing + ", scaling " + scaling
        + "]";
  }
}

package io.github.attention.layer;

import io.github.attention.internal.core.Projection;
import io.github.attention.kernel.AttentionSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * Computes an {@link AttentionTrace} the plain way: loops over the layer's weights in {@code double}, one
 * step of the textbook at a time. Not a hot path and not the SIMD one; readable on purpose.
 */
final class Tracing {

  private final AttentionSpec spec;
  private final int modelDim;
  private final int queryHeads;
  private final int kvHeads;
  private final int headDim;
  private final Projection wq;
  private final Projection wk;
  private final Projection wv;
  private final Projection wo;
  /** Null for none. */
  private final RotaryEmbedding rotary;

  Tracing(AttentionSpec spec, int modelDim, Projection wq, Projection wk, Projection wv, Projection wo,
      RotaryEmbedding rotary) {
    this.rotary = rotary;
    this.spec = spec;
    this.modelDim = modelDim;
    this.queryHeads = spec.queryHeads();
    this.kvHeads = spec.kvHeads();
    this.headDim = spec.headDim();
    this.wq = wq;
    this.wk = wk;
    this.wv = wv;
    this.wo = wo;
  }

  /** Token {@code token} of a sequence {@code x[0 .. seqLen)}: every token is a key. */
  AttentionTrace ofSequence(float[] x, int seqLen, int token) {
    float[][] inputs = rows(x, seqLen);
    double[][] k = new double[seqLen][];
    double[][] v = new double[seqLen][];
    for (int t = 0; t < seqLen; t++) {
      k[t] = rotate(project(wk, inputs[t]), kvHeads, t);
      v[t] = project(wv, inputs[t]);
    }
    return attend(inputs, token, token, rotate(project(wq, inputs[token]), queryHeads, token), k, v);
  }

  /** The new token {@code x[0 .. modelDim)} of a decode step over {@code cache}, which is not changed. */
  AttentionTrace ofStep(float[] x, KvCache cache) {
    float[][] inputs = rows(x, 1);
    int cached = cache.length();
    int width = kvHeads * headDim;
    double[][] k = new double[cached + 1][width];
    double[][] v = new double[cached + 1][width];
    for (int t = 0; t < cached; t++) {
      for (int g = 0; g < kvHeads; g++) {
        for (int d = 0; d < headDim; d++) {
          k[t][g * headDim + d] = cache.stored(false, t, g, d);
          v[t][g * headDim + d] = cache.stored(true, t, g, d);
        }
      }
    }
    // The layer projects the new key and value in fp32 and stores them as the cache's type says; attention
    // reads them back from there. The trace does the same to its double projections.
    // With rotary embeddings the layer rotates the new key in float, at position `cached`, before storing it.
    float[] projectedK = toFloat(project(wk, inputs[0]));
    if (rotary != null) {
      rotary.rotate(projectedK, 0, 1, kvHeads, headDim, cached);
    }
    float[] newK = cache.asStored(projectedK, kvHeads);
    float[] newV = cache.asStored(toFloat(project(wv, inputs[0])), kvHeads);
    for (int i = 0; i < width; i++) {
      k[cached][i] = newK[i];
      v[cached][i] = newV[i];
    }
    return attend(inputs, 0, cached, rotate(project(wq, inputs[0]), queryHeads, cached), k, v);
  }

  /** A token's heads {@code [heads][D]} rotated in double at {@code position} (unchanged without RoPE). */
  private double[] rotate(double[] row, int heads, int position) {
    if (rotary == null) {
      return row;
    }
    double[] f = rotary.frequencies();
    for (int i = 0; i < f.length; i++) {
      double c = Math.cos(position * f[i]);
      double s = Math.sin(position * f[i]);
      int a = rotary.first(i);
      int b = rotary.partner(i);
      for (int h = 0; h < heads; h++) {
        double x0 = row[h * headDim + a];
        double x1 = row[h * headDim + b];
        row[h * headDim + a] = x0 * c - x1 * s;
        row[h * headDim + b] = x0 * s + x1 * c;
      }
    }
    return row;
  }

  /**
   * Steps 3 to 6 for the query {@code q} (all heads, {@code [queryHeads·D]}) at key position {@code p} over
   * keys and values {@code [n][kvHeads·D]}.
   */
  private AttentionTrace attend(float[][] inputs, int queryToken, int p, double[] q, double[][] k, double[][] v) {
    int n = k.length;
    int group = queryHeads / kvHeads;
    double scale = spec.scale();
    int window = spec.slidingWindow();
    double cap = spec.softcap();
    float[] sinks = spec.sinks();
    float[] slopes = spec.alibiSlopes();

    List<AttentionTrace.KvHead> kvList = new ArrayList<>();
    for (int g = 0; g < kvHeads; g++) {
      int[] readers = new int[group];
      for (int r = 0; r < group; r++) {
        readers[r] = g * group + r;
      }
      kvList.add(new AttentionTrace.KvHead(g, readers, slice(k, g), slice(v, g)));
    }

    List<AttentionTrace.QueryHead> heads = new ArrayList<>();
    double[] concat = new double[queryHeads * headDim];
    for (int h = 0; h < queryHeads; h++) {
      int g = h / group;
      double[] qh = new double[headDim];
      System.arraycopy(q, h * headDim, qh, 0, headDim);
      double[] raw = new double[n];
      double[] scaled = new double[n];
      double[] logits = new double[n];
      List<AttentionTrace.KeyStatus> status = new ArrayList<>();
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < n; j++) {
        double dot = 0;
        for (int d = 0; d < headDim; d++) {
          dot += qh[d] * k[j][g * headDim + d];
        }
        raw[j] = dot;
        scaled[j] = dot * scale;
        AttentionTrace.KeyStatus s = spec.causal() && j > p ? AttentionTrace.KeyStatus.CAUSAL_FUTURE
            : window > 0 && j <= p - window ? AttentionTrace.KeyStatus.OUTSIDE_WINDOW
            : AttentionTrace.KeyStatus.VISIBLE;
        status.add(s);
        if (s == AttentionTrace.KeyStatus.VISIBLE) {
          double x = cap > 0 ? cap * Math.tanh(scaled[j] / cap) : scaled[j];
          logits[j] = slopes == null ? x : x + (double) slopes[h] * (j - p);
          max = Math.max(max, logits[j]);
        } else {
          logits[j] = Double.NEGATIVE_INFINITY;
        }
      }
      double sink = sinks == null ? Double.NaN : sinks[h];
      if (sinks != null) {
        max = Math.max(max, sink);
      }
      // Softmax with the largest logit factored out (e^0 = 1 for it), so nothing overflows.
      double[] weights = new double[n];
      double total = sinks == null ? 0 : Math.exp(sink - max);
      for (int j = 0; j < n; j++) {
        if (status.get(j) == AttentionTrace.KeyStatus.VISIBLE) {
          weights[j] = Math.exp(logits[j] - max);
          total += weights[j];
        }
      }
      double[] z = new double[headDim];
      for (int j = 0; j < n; j++) {
        weights[j] = total > 0 ? weights[j] / total : 0;
        for (int d = 0; d < headDim; d++) {
          z[d] += weights[j] * v[j][g * headDim + d];
        }
      }
      System.arraycopy(z, 0, concat, h * headDim, headDim);
      heads.add(new AttentionTrace.QueryHead(h, g, qh, raw, scaled, logits, status, sink, weights, z));
    }
    double[] y = new double[modelDim];
    for (int o = 0; o < modelDim; o++) {
      double sum = wo.bias(o);
      for (int i = 0; i < concat.length; i++) {
        sum += concat[i] * wo.weight(o, i);
      }
      y[o] = sum;
    }
    return new AttentionTrace(modelDim, headDim, queryToken, p, scale, inputs, kvList, heads, concat, y);
  }

  /** {@code x·Wᵀ + b} of one input row, in double. */
  private static double[] project(Projection w, float[] x) {
    double[] y = new double[w.out()];
    for (int o = 0; o < y.length; o++) {
      double sum = w.bias(o);
      for (int i = 0; i < x.length; i++) {
        sum += (double) x[i] * w.weight(o, i);
      }
      y[o] = sum;
    }
    return y;
  }

  /** KV head {@code g}'s columns of rows {@code [n][kvHeads·D]}: {@code [n][D]}. */
  private double[][] slice(double[][] rows, int g) {
    double[][] part = new double[rows.length][headDim];
    for (int t = 0; t < rows.length; t++) {
      System.arraycopy(rows[t], g * headDim, part[t], 0, headDim);
    }
    return part;
  }

  private float[][] rows(float[] x, int tokens) {
    float[][] r = new float[tokens][modelDim];
    for (int t = 0; t < tokens; t++) {
      System.arraycopy(x, t * modelDim, r[t], 0, modelDim);
    }
    return r;
  }

  private static float[] toFloat(double[] a) {
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      f[i] = (float) a[i];
    }
    return f;
  }
}

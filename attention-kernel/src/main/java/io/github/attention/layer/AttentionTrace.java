package io.github.attention.layer;

import java.util.Arrays;
import java.util.List;

/**
 * Every intermediate of one query token's trip through a {@link MultiHeadAttention} layer, in the textbook's
 * six steps: (1) the input embeddings, one token chosen as the query; (2) per head, the projections
 * {@code q = x·Wqᵀ + bq} of the query token and {@code k}, {@code v} of every token; (3) per query head,
 * scaled dot-product attention for that token: raw scores {@code q·k}, scaled scores, the logits after the
 * layer's variants, which keys are excluded and why, the softmax weights and the head's output {@code z};
 * (4) the heads' outputs concatenated; (5) the output projection {@code y = concat·Woᵀ + bo}; (6) the
 * output embedding, beside the input one. Made by {@link MultiHeadAttention#trace} and
 * {@link MultiHeadAttention#traceStep}.
 *
 * <p>Computed plainly, in {@code double}, from the layer's own weights (not the SIMD path), so it is a
 * readable oracle of what the layer computes: {@code output()} equals the layer's {@code forward} row for
 * the token within the layer's fp32 rounding error. Immutable: every accessor returns a copy.
 *
 * <p>Shapes: {@code D = headDim}, {@code n = keyCount()} (the tokens the query could see: the whole sequence
 * for {@link MultiHeadAttention#trace}, the cache plus the new token for {@link MultiHeadAttention#traceStep}).
 * Query head {@code h} reads KV head {@code h / (queryHeads / kvHeads)}.
 */
public final class AttentionTrace {

  /** Why a key does or does not take part in a query's softmax. */
  public enum KeyStatus {
    /** In the softmax. */
    VISIBLE,
    /** Causal layer: the key comes after the query token. */
    CAUSAL_FUTURE,
    /** Sliding window: the key is {@code window} or more tokens before the query token. */
    OUTSIDE_WINDOW
  }

  /**
   * One key/value head: every key token's {@code k} and {@code v} (as the layer attends to them: for a cache
   * as stored, widened) and the query heads that share it (one for multi-head, several for grouped-query,
   * all for multi-query attention).
   *
   * @param kvHead its index
   * @param queryHeads the query heads reading it
   * @param keys {@code [n][D]}
   * @param values {@code [n][D]}
   */
  public record KvHead(int kvHead, int[] queryHeads, double[][] keys, double[][] values) {

    /** Copies the arrays. */
    public KvHead {
      queryHeads = queryHeads.clone();
      keys = deepCopy(keys);
      values = deepCopy(values);
    }

    /** {@return the query heads reading this KV head (a copy)} */
    @Override
    public int[] queryHeads() {
      return queryHeads.clone();
    }

    /** {@return every key token's key, {@code [n][D]} (a copy)} */
    @Override
    public double[][] keys() {
      return deepCopy(keys);
    }

    /** {@return every key token's value, {@code [n][D]} (a copy)} */
    @Override
    public double[][] values() {
      return deepCopy(values);
    }
  }

  /**
   * One query head's attention for the query token. Excluded keys have {@code logits[j] = -∞} and
   * {@code weights[j] = 0} exactly; raw and scaled scores are given for every key, excluded or not.
   *
   * @param head its index
   * @param kvHead the KV head it reads
   * @param query the token's query {@code q}, {@code [D]}
   * @param rawScores {@code q·k_j}, {@code [n]}
   * @param scaledScores {@code q·k_j·scale}, {@code [n]}
   * @param logits what enters the softmax: the scaled score, soft-capped ({@code cap·tanh(s/cap)}) and
   *     with the ALiBi bias {@code slope·(j − position)} if the layer has them; {@code -∞} if excluded
   * @param status each key's {@link KeyStatus}
   * @param sink the head's sink logit, or NaN without sinks (it adds {@code e^sink} to the denominator)
   * @param weights the softmax weights, {@code [n]}: ≥ 0, summing to 1 (less the sink's share)
   * @param output {@code z = Σ_j weights[j]·v_j}, {@code [D]}
   */
  public record QueryHead(int head, int kvHead, double[] query, double[] rawScores, double[] scaledScores,
      double[] logits, List<KeyStatus> status, double sink, double[] weights, double[] output) {

    /** Copies the arrays. */
    public QueryHead {
      query = query.clone();
      rawScores = rawScores.clone();
      scaledScores = scaledScores.clone();
      logits = logits.clone();
      status = List.copyOf(status);
      weights = weights.clone();
      output = output.clone();
    }

    /** {@return the token's query, {@code [D]} (a copy)} */
    @Override
    public double[] query() {
      return query.clone();
    }

    /** {@return {@code q·k_j} for every key (a copy)} */
    @Override
    public double[] rawScores() {
      return rawScores.clone();
    }

    /** {@return {@code q·k_j·scale} for every key (a copy)} */
    @Override
    public double[] scaledScores() {
      return scaledScores.clone();
    }

    /** {@return the softmax's inputs, {@code -∞} for excluded keys (a copy)} */
    @Override
    public double[] logits() {
      return logits.clone();
    }

    /** {@return the softmax weights (a copy)} */
    @Override
    public double[] weights() {
      return weights.clone();
    }

    /** {@return the head's output {@code z}, {@code [D]} (a copy)} */
    @Override
    public double[] output() {
      return output.clone();
    }
  }

  private final int modelDim;
  private final int headDim;
  private final int queryToken;
  private final int position;
  private final double scale;
  private final float[][] inputs;
  private final List<KvHead> kvHeads;
  private final List<QueryHead> queryHeads;
  private final double[] concat;
  private final double[] output;

  AttentionTrace(int modelDim, int headDim, int queryToken, int position, double scale, float[][] inputs,
      List<KvHead> kvHeads, List<QueryHead> queryHeads, double[] concat, double[] output) {
    this.modelDim = modelDim;
    this.headDim = headDim;
    this.queryToken = queryToken;
    this.position = position;
    this.scale = scale;
    this.inputs = inputs;
    this.kvHeads = List.copyOf(kvHeads);
    this.queryHeads = List.copyOf(queryHeads);
    this.concat = concat;
    this.output = output;
  }

  /** {@return the model (embedding) width, {@code d_model}} */
  public int modelDim() {
    return modelDim;
  }

  /** {@return the width of one head, {@code D}} */
  public int headDim() {
    return headDim;
  }

  /** {@return the number of query heads} */
  public int queryHeadCount() {
    return queryHeads.size();
  }

  /** {@return the number of key/value heads} */
  public int kvHeadCount() {
    return kvHeads.size();
  }

  /** {@return {@code n}, the key tokens: indices {@code 0 .. n-1} of {@link KvHead#keys()} and the scores} */
  public int keyCount() {
    return kvHeads.get(0).keys.length;
  }

  /**
   * {@return the query token's index in {@link #inputs()}: the chosen token of a sequence, or 0 for a decode
   * step (whose inputs are the new token only)}
   */
  public int queryToken() {
    return queryToken;
  }

  /** {@return the query token's position among the keys, {@code p}: key {@code p} is the token itself} */
  public int position() {
    return position;
  }

  /** {@return the scale applied to every {@code q·k}} */
  public double scale() {
    return scale;
  }

  /**
   * {@return step 1: the input embeddings, {@code [tokens][modelDim]} (a copy): the whole sequence, or for a
   * decode step the new token only (earlier tokens are in the cache as keys and values)}
   */
  public float[][] inputs() {
    float[][] copy = new float[inputs.length][];
    for (int t = 0; t < inputs.length; t++) {
      copy[t] = inputs[t].clone();
    }
    return copy;
  }

  /** {@return step 2, keys and values: one entry per KV head} */
  public List<KvHead> kvHeads() {
    return kvHeads;
  }

  /** {@return steps 2 and 3, the query side: one entry per query head} */
  public List<QueryHead> queryHeads() {
    return queryHeads;
  }

  /** {@return step 4: the heads' outputs concatenated, {@code [queryHeads·D]} (a copy)} */
  public double[] concat() {
    return concat.clone();
  }

  /** {@return steps 5 and 6: the output embedding {@code concat·Woᵀ + bo}, {@code [modelDim]} (a copy)} */
  public double[] output() {
    return output.clone();
  }

  private static double[][] deepCopy(double[][] rows) {
    double[][] copy = new double[rows.length][];
    for (int i = 0; i < rows.length; i++) {
      copy[i] = rows[i].clone();
    }
    return copy;
  }

  @Override
  public String toString() {
    return "AttentionTrace[token " + queryToken + " at position " + position + " over " + keyCount()
        + " keys, " + queryHeads.size() + " query heads over " + kvHeads.size() + " KV heads of " + headDim
        + ", d_model " + modelDim + ", output " + Arrays.toString(Arrays.copyOf(output, Math.min(4,
        output.length))) + (output.length > 4 ? "…" : "") + "]";
  }
}

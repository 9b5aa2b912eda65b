package io.github.attention.internal.core;

import io.github.attention.internal.parallel.Work;
import java.util.Arrays;

/**
 * The sequences of a batch in progress, as one {@link Work}: item {@code i} of the batch is item
 * {@code i - first[s]} of sequence {@code s}'s own plan, so every sequence's items, and so its arithmetic,
 * are exactly those of a call of it alone. Kept in the caller's {@link Workspace}, with one {@link Call} and
 * one {@link Partials} per sequence, grown to the largest batch and reused.
 */
final class BatchCall implements Work {

  Call[] calls = new Call[0];
  Partials[] partials = new Partials[0];
  /** Each slot's recent plans (one): see {@link BlockedAttention}'s batch call. */
  Plan[][] plans = new Plan[0][];
  /** {@code first[s]}: the batch's number of sequence {@code s}'s first item; {@code first[size]} is the total. */
  private int[] first = new int[1];
  private int size;

  /** Makes room for {@code n} sequences. */
  void ensure(int n) {
    if (calls.length < n) {
      int old = calls.length;
      calls = Arrays.copyOf(calls, n);
      partials = Arrays.copyOf(partials, n);
      plans = Arrays.copyOf(plans, n);
      for (int s = old; s < n; s++) {
        calls[s] = new Call();
        partials[s] = new Partials();
        plans[s] = new Plan[1];
      }
      first = new int[n + 1];
    }
  }

  /** Numbers the items of the first {@code n} calls, which are open. @return the total */
  int open(int n) {
    size = n;
    for (int s = 0; s < n; s++) {
      first[s + 1] = first[s] + calls[s].plan.items().size();
    }
    return first[n];
  }

  @Override
  public void run(int item) {
    // The sequence whose range holds the item: the last s with first[s] <= item (every plan has an item,
    // so the starts strictly increase).
    int s = Arrays.binarySearch(first, 0, size + 1, item);
    s = s >= 0 ? s : -s - 2;
    Call call = calls[s];
    call.kernel.run(call, call.plan.items().get(item - first[s]), Workspace.current());
  }

  /** Closes the first {@code n} calls (drops every reference to the caller's data). */
  void close(int n) {
    for (int s = 0; s < n; s++) {
      calls[s].close();
    }
    size = 0;
  }
}

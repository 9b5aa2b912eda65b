package io.github.attention.internal.parallel;

/**
 * The work items of one call, numbered {@code 0 .. count-1}. Each item writes its own part of the result,
 * so items can run in any order, on any thread, and give the same bits.
 */
@FunctionalInterface
public interface Work {

  /**
   * Runs one item.
   *
   * @param item the item's number, in {@code [0, count)} of the {@link WorkerTeam#run} call
   */
  void run(int item);
}

package io.github.attention.internal.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.internal.core.Workspace.Activity;
import io.github.attention.internal.core.Workspace.LayerScratch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The one per-thread workspace and its one re-entrancy rule. */
class WorkspaceTest {

  @Test
  void aThreadRunsOneCallOfEachActivityAtATime() {
    Workspace w = Workspace.current();
    w.enter(Activity.ATTEND);
    try {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.enter(Activity.ATTEND));
      assertEquals("attend called on a thread that is already inside attend (from an executor's execute()?)",
          e.getMessage());
      // A layer's forward calls its kernel: the two activities nest.
      w.enter(Activity.FORWARD);
      assertThrows(IllegalStateException.class, () -> w.enter(Activity.FORWARD));
      w.leave(Activity.FORWARD);
    } finally {
      w.leave(Activity.ATTEND);
    }
    w.enter(Activity.ATTEND);
    w.leave(Activity.ATTEND);
    w.enter(Activity.FORWARD);
    w.leave(Activity.FORWARD);
  }

  @Test
  void eachThreadHasItsOwn() throws InterruptedException {
    Workspace mine = Workspace.current();
    assertSame(mine, Workspace.current());
    AtomicReference<Workspace> other = new AtomicReference<>();
    Thread thread = new Thread(() -> {
      other.set(Workspace.current());
      // Entering there does not block entering here.
      other.get().enter(Activity.ATTEND);
    });
    thread.start();
    thread.join();
    assertNotSame(mine, other.get());
    mine.enter(Activity.ATTEND);
    mine.leave(Activity.ATTEND);
  }

  @Test
  void layerScratchGrowsAndIsThenReused() {
    Workspace w = Workspace.current();
    LayerScratch small = w.layer(10, 4);
    assertTrue(small.queries().length >= 10 && small.heads().length >= 10);
    assertTrue(small.keys().length >= 4 && small.values().length >= 4);
    float[] queries = w.layer(100, 40).queries();
    assertTrue(queries.length >= 100 && w.layer(100, 40).values().length >= 40);
    assertSame(queries, w.layer(50, 0).queries(), "a smaller call reuses the arrays");
    // A call of exactly the size of the last growth reuses them too.
    int size = queries.length + 7;
    int kvSize = w.layer(0, 0).keys().length + 5;
    float[] grown = w.layer(size, kvSize).queries();
    float[] keys = w.layer(size, kvSize).keys();
    assertSame(grown, w.layer(size, kvSize).queries());
    assertSame(keys, w.layer(size, kvSize).keys());
    assertSame(w.layer(size, kvSize).values(), w.layer(size, kvSize).values());
    assertSame(w.layer(size, kvSize).heads(), w.layer(size, kvSize).heads());
  }

  @Test
  void theTileGrowsToTheLargestRequest() {
    Workspace w = Workspace.current();
    float[] tile = w.tile(300);
    assertTrue(tile.length >= 300);
    assertSame(tile, w.tile(10));
    assertTrue(w.tile(1000).length >= 1000);
  }
}

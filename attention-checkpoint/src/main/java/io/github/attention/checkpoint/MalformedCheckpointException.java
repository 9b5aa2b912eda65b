package io.github.attention.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint file that does not follow its format: the message names the file and what is wrong (for
 * example a tensor's byte range that does not match its shape), so that nothing is ever read as garbage.
 */
public final class MalformedCheckpointException extends IOException {

  private static final long serialVersionUID = 1L;

  /**
   * A malformed file.
   *
   * @param file the file
   * @param problem what is wrong with it
   */
  public MalformedCheckpointException(Path file, String problem) {
    super(file + ": " + problem);
  }

  /**
   * A malformed file, with the parser's exception.
   *
   * @param file the file
   * @param problem what is wrong with it
   * @param cause the underlying exception
   */
  public MalformedCheckpointException(Path file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
  }
}

/** The consumer example: needs only the kernel's module (which itself needs the Vector API only optionally). */
module io.github.attention.example {
  requires io.github.attention.kernel;
}

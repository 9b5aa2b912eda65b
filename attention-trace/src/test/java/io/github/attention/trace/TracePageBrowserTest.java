package io.github.attention.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.attention.layer.AttentionTrace;
import io.github.attention.layer.MultiHeadAttention;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;

/**
 * The generated page in a real browser: Debian's headless Chromium through its chromedriver (both under
 * {@code /usr/bin}; {@code .ci/run} installs them). Opens the file from disk, checks that it requests
 * nothing, walks the six steps forward and back (buttons and arrow keys), picks another query token and
 * checks the weights the page shows for a head against the layer's own {@link AttentionTrace}, switches the
 * example sequence, and saves a screenshot of every step under {@code target/trace-screenshots/}.
 *
 * <p>Skipped, with a message, where Chromium or chromedriver is missing, except under CI ({@code CI=true}),
 * where a missing browser fails the build.
 */
class TracePageBrowserTest {

  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final TracePage.Config CONFIG = new TracePage.Config(32, 4, 2, 8, true, 0, 5);

  private static ChromeDriver browser;
  private static Path page;
  private static Path screenshots;

  @BeforeAll
  static void open() throws Exception {
    boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    if (!present && "true".equals(System.getenv("CI"))) {
      throw new IllegalStateException("CI needs " + CHROMIUM + " and " + CHROMEDRIVER
          + " (apt-get install chromium chromium-driver; .ci/run does it)");
    }
    assumeTrue(present, "no " + CHROMIUM + " or " + CHROMEDRIVER + ": browser test skipped");
    screenshots = Path.of(System.getProperty("screenshots.dir", "target/trace-screenshots"));
    Files.createDirectories(screenshots);
    page = screenshots.resolveSibling("browser-test-page.html");
    Files.writeString(page, TracePage.html(CONFIG, TracePage.EXAMPLES));
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toString());
    options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1100");
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile()).build();
    browser = new ChromeDriver(service, options);
    browser.get(page.toUri().toString());
  }

  @AfterAll
  static void close() {
    if (browser != null) {
      browser.quit();
    }
  }

  @Test
  void walksTheStepsPicksATokenAndShowsTheTracesWeights() throws Exception {
    // Nothing leaves the page: the file names no URL to load (no src, href, url(), @import), its
    // Content-Security-Policy forbids every fetch, and the browser recorded no resource request.
    // (The page's code and markup, without the data: base64 could spell anything.)
    String html;
    try (var in = TracePage.class.getResourceAsStream("trace-page.html")) {
      html = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
    assertTrue(html.contains("content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline';"
        + " img-src data:\""), "the page's CSP");
    for (String loader : List.of("src=", "href=", "url(", "@import", "fetch(", "XMLHttpRequest", "WebSocket")) {
      assertTrue(!html.contains(loader), "the page contains " + loader);
    }
    Object resources = js("return performance.getEntriesByType('resource').length");
    assertEquals(0L, resources);
    assertEquals(List.of(), js("return window.__errors"));

    for (int step = 1; step <= 6; step++) {
      assertTrue(text("step-label").startsWith("Step " + step + " of 6"), text("step-label"));
      shot("step-" + step);
      if (step < 6) {
        browser.findElement(By.id("next")).click();
      }
    }
    assertTrue(!browser.findElement(By.id("next")).isEnabled(), "Next is disabled on step 6");
    for (int step = 5; step >= 1; step--) {
      browser.findElement(By.id("prev")).click();
      assertTrue(text("step-label").startsWith("Step " + step + " of 6"), text("step-label"));
    }
    browser.findElement(By.tagName("body")).sendKeys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT);
    assertTrue(text("step-label").startsWith("Step 3 of 6"), text("step-label"));

    // Query token 7 ("it"), head 2: the bars carry the weights; they must be the trace's.
    browser.findElement(By.cssSelector(".token[data-index='7']")).click();
    new Select(browser.findElement(By.id("head"))).selectByValue("2");
    List<String> tokens = TracePage.tokens(TracePage.EXAMPLES.get(0).text());
    MultiHeadAttention layer = CONFIG.layer();
    AttentionTrace trace = layer.trace(TracePage.embeddings(tokens, CONFIG.modelDim()), tokens.size(), 7);
    double[] expected = trace.queryHeads().get(2).weights();
    List<WebElement> bars = browser.findElements(By.cssSelector("#bars .bar"));
    assertEquals(tokens.size(), bars.size());
    for (int j = 0; j < bars.size(); j++) {
      double shown = Double.parseDouble(bars.get(j).getAttribute("data-weight"));
      // The page holds float32 copies: within half an ulp of float, relative 2^-24.
      assertEquals(expected[j], shown, Math.ulp((float) expected[j]), "key " + j);
      assertEquals(j > 7, bars.get(j).getAttribute("class").contains("excluded"), "key " + j);
    }
    assertEquals(4, browser.findElements(By.cssSelector("canvas.heatmap")).size());
    shot("step-3-token-7-head-2");

    // The other example: its own tokens.
    new Select(browser.findElement(By.id("sequence"))).selectByIndex(1);
    int questionTokens = TracePage.tokens(TracePage.EXAMPLES.get(1).text()).size();
    assertEquals(questionTokens, browser.findElements(By.cssSelector(".token")).size());
    assertTrue(text("step-label").startsWith("Step 3 of 6"));
    shot("question-step-3");
  }

  /**
   * The largest configuration the page is made for: 64 tokens, 16 heads of 64, d_model 1024. The file stays
   * under 5 MB and every step renders without a script error.
   */
  @Test
  void largestConfigurationStaysUsable() throws Exception {
    StringBuilder words = new StringBuilder();
    for (int i = 0; i < TracePage.MAX_TOKENS; i++) {
      words.append("word").append(i % 23).append(' ');
    }
    String html = TracePage.html(new TracePage.Config(1024, 16, 16, 64, true, 0, 1),
        List.of(new TracePage.Example("long", words.toString()), TracePage.EXAMPLES.get(1)));
    long bytes = html.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    assertTrue(bytes < 5_000_000, bytes + " bytes");
    Path big = screenshots.resolveSibling("browser-test-largest.html");
    Files.writeString(big, html);
    browser.get(big.toUri().toString());
    try {
      assertEquals(TracePage.MAX_TOKENS, browser.findElements(By.cssSelector(".token")).size());
      browser.findElement(By.cssSelector(".token[data-index='40']")).click();
      for (int step = 1; step <= 6; step++) {
        assertTrue(text("step-label").startsWith("Step " + step + " of 6"), text("step-label"));
        shot("largest-step-" + step);
        if (step < 6) {
          browser.findElement(By.id("next")).click();
        }
      }
      assertEquals(List.of(), js("return window.__errors"));
    } finally {
      browser.get(page.toUri().toString());
    }
  }

  private static Object js(String script) {
    return ((JavascriptExecutor) browser).executeScript(script);
  }

  private static String text(String id) {
    return browser.findElement(By.id(id)).getText();
  }

  private static void shot(String name) throws Exception {
    Files.write(screenshots.resolve(name + ".png"), browser.getScreenshotAs(OutputType.BYTES));
  }
}

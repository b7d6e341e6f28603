// A person's device-code sign-in in headless Chromium: opens Arca's verification page,
// enters the code, user name and password, and waits for the confirmation.
//
//   node devicecode.mjs VERIFICATION_URI USER_CODE USER PASSWORD
//
// CHROMIUM: the browser executable (Debian's chromium); HOME must hold an NSS database
// (~/.pki/nssdb) that trusts Arca's CA: TLS is verified as usual.
import { chromium } from "playwright-core";

const [uri, code, user, password] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // running as root in a container: Chromium's own sandbox needs user namespaces it may not get
  args: process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [],
  env: { ...process.env },
});
try {
  const page = await browser.newPage();
  const resp = await page.goto(uri);
  if (!resp || resp.status() !== 200) throw new Error(`GET ${uri}: ${resp && resp.status()}`);
  if (!(await page.title()).includes("Sign in")) throw new Error(`unexpected page title ${await page.title()}`);
  // a wrong password first: the page says so and nothing is approved
  await page.fill("#code", code);
  await page.fill("#username", user);
  await page.fill("#password", "not-the-password");
  await page.click("#submit");
  await page.waitForSelector("#error");
  // then the right one (the code field keeps the code)
  if ((await page.inputValue("#code")) !== code) throw new Error("the code was not kept");
  await page.fill("#username", user);
  await page.fill("#password", password);
  await page.click("#submit");
  await page.waitForSelector("#done");
  console.log(`signed in as ${user}: ${await page.textContent("#done")}`);
} finally {
  await browser.close();
}

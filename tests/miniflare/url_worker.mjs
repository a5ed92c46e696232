// A Worker that parses URLs with the platform glue (src/worker/glue.mjs), i.e. with workerd's
// own URL parser: POST a JSON list of strings, get the list of parseUrl results.
import { parseUrl } from "../../src/worker/glue.mjs";

export default {
  async fetch(request) {
    const inputs = await request.json();
    return Response.json(inputs.map((i) => parseUrl(i)));
  },
};

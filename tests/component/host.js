// The embedder's side of the WIT `host` interface, as jco imports it: the
// functions Python reaches through its `host` module.
export const calls = [];

export function call(name, argsJson) {
  calls.push([name, argsJson]);
  const args = JSON.parse(argsJson);
  switch (name) {
    case "add":
      return JSON.stringify(args.reduce((sum, value) => sum + value, 0));
    case "greet":
      return JSON.stringify({ hello: args[0] });
    default:
      // jco turns a thrown error's `payload` into the result's `err`.
      throw Object.assign(new Error(name), { payload: `no host function named ${name}` });
  }
}

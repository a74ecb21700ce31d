// The Web Worker that loadMicroPythonWorker starts in browsers.
import { serveWorker } from "./core.js";

serveWorker(self);

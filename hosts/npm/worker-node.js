// The worker thread that loadMicroPythonWorker starts in Node.
import { parentPort } from "node:worker_threads";
import { serveWorker } from "./core.js";
import { mountFolders } from "./node.js";

serveWorker(parentPort, mountFolders);

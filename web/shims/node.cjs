// The Node built-ins (fs, os, worker_threads, …) as the browser bundle sees them: an empty module.
// The page never calls the code paths that use them (reading files, worker threads, the native
// engine); web/build.mjs maps every `node:*` import here, so a module of src/ that imports one at
// its top still loads. A call that reaches one fails with "… is not a function", naming it.
module.exports = {};

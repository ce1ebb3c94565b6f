// Stands in for the Node built-ins (and the plot writer) that the simulator's command-line modules
// import, in the browser bundle: every name is undefined. The page's code path never calls them; the
// simulator only feature-tests zlib.crc32 and then uses its own table.
module.exports = {}

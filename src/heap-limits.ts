// Imported first by the command (bin/upload-recv.js), before the rest of the program is evaluated:
// V8 grows the young generation while start-up allocates (module bodies, commander, the banner),
// and a semi-space that has grown stays that size. Capped from the first line it stays at 1 MiB
// (reclaim.ts says why): W2's peak RSS was 2 MiB lower that way than when run() set the cap.
import { limitYoungGeneration } from './http/reclaim.js'

limitYoungGeneration()

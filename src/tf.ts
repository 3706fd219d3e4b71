/**
 * Old name of ./tfjs_setup, kept only because test/native/_helpers.ts (owned by the native back
 * end's maintainers) still imports it; remove once that import says '../../src/tfjs_setup'.
 */
import './tfjs_setup';

/**
 * The widget state a front end keeps, rebuilt from the kernel's comm messages on iopub (as
 * nbclient does): comm_open of target `jupyter.widget` starts a model, `update` / `echo_update`
 * messages change it, comm_close removes it. Saved into a notebook's metadata under
 * `application/vnd.jupyter.widget-state+json`, it lets JupyterLab, nbviewer-like pages and the
 * course site draw the widgets as they were, without a kernel.
 */
import type { Message } from './kernel_client';

export { WIDGET_STATE_MIME } from '../../src/widgets/widget';

interface ModelState {
  model_name: string;
  model_module: string;
  model_module_version: string;
  state: Record<string, unknown>;
  buffers?: { encoding: 'base64'; path: (string | number)[]; data: string }[];
}

export interface WidgetStateMetadata {
  version_major: 2;
  version_minor: 0;
  state: Record<string, ModelState>;
}

/** Binary parts of a state, kept base64-encoded beside it (as the widget-state schema has them). */
function putBuffers(paths: unknown, buffers: Buffer[], into: ModelState): void {
  if (!Array.isArray(paths)) return;
  paths.forEach((p: (string | number)[], i) => {
    if (!buffers[i]) return;
    into.buffers = (into.buffers ?? []).filter((b) => JSON.stringify(b.path) !== JSON.stringify(p));
    into.buffers.push({ encoding: 'base64', path: p, data: buffers[i].toString('base64') });
  });
}

export class WidgetStateCollector {
  private readonly models = new Map<string, ModelState>();

  /** Feed every iopub message here. */
  add(m: Message): void {
    const c = m.content as { comm_id?: string; target_name?: string; data?: Record<string, unknown> };
    const id = c.comm_id;
    if (!id) return;
    switch (m.header.msg_type) {
      case 'comm_open': {
        if (c.target_name !== 'jupyter.widget') return;
        const state = { ...((c.data?.state ?? {}) as Record<string, unknown>) };
        const model: ModelState = {
          model_name: String(state._model_name),
          model_module: String(state._model_module),
          model_module_version: String(state._model_module_version),
          state,
        };
        putBuffers(c.data?.buffer_paths, m.buffers, model);
        this.models.set(id, model);
        break;
      }
      case 'comm_msg': {
        const model = this.models.get(id);
        const method = c.data?.method;
        if (!model || (method !== 'update' && method !== 'echo_update')) return;
        Object.assign(model.state, (c.data?.state ?? {}) as Record<string, unknown>);
        putBuffers(c.data?.buffer_paths, m.buffers, model);
        break;
      }
      case 'comm_close':
        this.models.delete(id);
        break;
    }
  }

  get size(): number {
    return this.models.size;
  }

  /** The notebook metadata value (null when no widget is open). */
  metadata(): WidgetStateMetadata | null {
    if (this.models.size === 0) return null;
    return { version_major: 2, version_minor: 0, state: Object.fromEntries(this.models) };
  }
}

// The browser entry of the lab front end: JupyterLab's own application shell with the plugin
// packages listed in package.json ("jupyterlab.extensions" / "mimeExtensions"). Keep the two
// lists below in step with package.json: webpack needs static imports, the builder reads the JSON.
import { PageConfig } from '@jupyterlab/coreutils';

// Assets (fonts, icons) are fetched relative to the server's static URL, which is only known at
// run time, so webpack's public path must be set before any CSS is imported.
// eslint-disable-next-line no-undef
__webpack_public_path__ = PageConfig.getOption('fullStaticUrl') + '/';

const styles = import('./build/style.js');

const pluginModules = [
  // Jupyter widgets: the widget manager, @jupyter-widgets/controls and the Output widget.
  import('@jupyter-widgets/jupyterlab-manager'),
  import('@jupyterlab/application-extension'),
  import('@jupyterlab/apputils-extension'),
  import('@jupyterlab/cell-toolbar-extension'),
  import('@jupyterlab/celltags-extension'),
  import('@jupyterlab/codemirror-extension'),
  import('@jupyterlab/completer-extension'),
  import('@jupyterlab/console-extension'),
  import('@jupyterlab/csvviewer-extension'),
  import('@jupyterlab/docmanager-extension'),
  import('@jupyterlab/docprovider-extension'),
  import('@jupyterlab/documentsearch-extension'),
  import('@jupyterlab/filebrowser-extension'),
  import('@jupyterlab/fileeditor-extension'),
  import('@jupyterlab/help-extension'),
  import('@jupyterlab/htmlviewer-extension'),
  import('@jupyterlab/imageviewer-extension'),
  import('@jupyterlab/inspector-extension'),
  import('@jupyterlab/launcher-extension'),
  import('@jupyterlab/logconsole-extension'),
  import('@jupyterlab/mainmenu-extension'),
  import('@jupyterlab/markdownviewer-extension'),
  import('@jupyterlab/mathjax2-extension'),
  import('@jupyterlab/notebook-extension'),
  import('@jupyterlab/rendermime-extension'),
  import('@jupyterlab/running-extension'),
  import('@jupyterlab/settingeditor-extension'),
  import('@jupyterlab/shortcuts-extension'),
  import('@jupyterlab/statusbar-extension'),
  import('@jupyterlab/theme-dark-extension'),
  import('@jupyterlab/theme-light-extension'),
  import('@jupyterlab/toc-extension'),
  import('@jupyterlab/tooltip-extension'),
  import('@jupyterlab/translation-extension'),
  import('@jupyterlab/ui-components-extension'),
];

// Renderers for output MIME types beyond the standard ones (HTML, SVG, PNG, text, markdown):
// vega5-extension draws Vega 5 and Vega-Lite v3/v4 bundles with its own vega-embed.
const mimeModules = [
  import('@jupyterlab/javascript-extension'),
  import('@jupyterlab/json-extension'),
  import('@jupyterlab/pdf-extension'),
  import('@jupyterlab/vega5-extension'),
];

// Plugins left out whatever the page config says: the news announcements ask the JupyterLab
// Python package's /lab/api/news, which jupyterlab-server does not have (and the machine may be
// offline).
const SKIPPED = new Set(['@jupyterlab/apputils-extension:announcements']);

/** A module's plugins, without the skipped ones and those the page config disables. */
function enabledPlugins(module) {
  const exported = module.default ?? module;
  const plugins = Array.isArray(exported) ? exported : [exported];
  return plugins.filter((p) => !SKIPPED.has(p.id) && !PageConfig.Extension.isDisabled(p.id));
}

window.addEventListener('load', async () => {
  await styles;
  const { JupyterLab } = await import('@jupyterlab/application');
  const lab = new JupyterLab({ mimeExtensions: await Promise.all(mimeModules) });
  lab.registerPlugins((await Promise.all(pluginModules)).flatMap(enabledPlugins));
  await lab.start();
  await lab.restored;
  // Tests (and curious users) reach the running application here.
  window.jupyterapp = lab;
  document.body.dataset.resnetTsLab = 'ready';
});

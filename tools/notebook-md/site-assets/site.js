// Makes the static SVG plots interactive with vega-embed (bundled locally, no CDN). A figure keeps
// its static SVG when vega-embed is missing or fails.
(function () {
  if (typeof vegaEmbed !== 'function') return;
  document.querySelectorAll('figure.vega-figure').forEach(function (fig) {
    var specEl = document.getElementById(fig.getAttribute('data-vega-id') + '-spec');
    var still = fig.querySelector('.vega-static');
    if (!specEl || !still) return;
    var spec;
    try {
      spec = JSON.parse(specEl.textContent);
    } catch (e) {
      console.warn('vega spec', e);
      return;
    }
    var live = document.createElement('div');
    live.className = 'vega-live';
    fig.insertBefore(live, still);
    vegaEmbed(live, spec, { renderer: 'svg', actions: false })
      .then(function () {
        still.remove();
        fig.classList.add('vega-interactive');
      })
      .catch(function (e) {
        live.remove();
        console.warn('vega-embed failed, keeping the static figure:', e);
      });
  });
})();

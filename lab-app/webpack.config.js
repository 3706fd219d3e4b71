// Builds the lab front end into ./build: one bundle from index.js plus, through
// @jupyterlab/builder, each extension's settings schemas and themes and build/style.js.
const path = require('path');
const webpack = require('webpack');
const { Build } = require('@jupyterlab/builder');
const pkg = require('./package.json');

const assets = Build.ensureAssets({
  packageNames: [...pkg.jupyterlab.extensions, ...pkg.jupyterlab.mimeExtensions],
  output: './build',
});

const svgRaw = { test: /\.svg(\?v=\d+\.\d+\.\d+)?$/, issuer: /\.js$/, use: 'raw-loader' };
const svgInCss = {
  test: /\.svg(\?v=\d+\.\d+\.\d+)?$/,
  issuer: /\.css$/,
  use: { loader: 'svg-url-loader', options: { encoding: 'none', limit: 10000 } },
};
const font = (ext, mimetype) => ({
  test: new RegExp(`\\.${ext}(\\?v=\\d+\\.\\d+\\.\\d+)?$`),
  use: { loader: 'url-loader', options: { limit: 10000, mimetype } },
});

module.exports = [
  {
    entry: ['whatwg-fetch', './index.js'],
    output: { path: path.join(__dirname, 'build'), filename: 'bundle.js', hashFunction: 'sha256' },
    bail: true,
    mode: 'production',
    devtool: false,
    performance: { hints: false },
    module: {
      rules: [
        { test: /\.css$/, use: ['style-loader', 'css-loader'] },
        { test: /\.html$/, use: 'file-loader' },
        { test: /\.md$/, use: 'raw-loader' },
        { test: /\.(jpg|png|gif)$/, use: 'file-loader' },
        { test: /\.js\.map$/, use: 'file-loader' },
        font('woff2', 'application/font-woff'),
        font('woff', 'application/font-woff'),
        font('ttf', 'application/octet-stream'),
        { test: /\.eot(\?v=\d+\.\d+\.\d+)?$/, use: 'file-loader' },
        svgInCss,
        svgRaw,
      ],
    },
    plugins: [
      // Some dependencies (blueprint, path polyfills) read process.env / process.cwd().
      new webpack.DefinePlugin({ 'process.env': '{}', process: { cwd: () => '/' } }),
    ],
  },
].concat(assets);

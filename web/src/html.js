// htm bound to preact's h: tagged templates instead of JSX, so the sources run without a
// compile step of their own (esbuild only bundles and minifies).
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

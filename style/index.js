// The labextension's styleModule (extension/package.json): JupyterLab loads this to apply Floe's CSS.
import './base.css';
import './sar-viewer.css';
import './panels.css';
import './experiments.css';
import './renderers.css';
import './feature-store.css';
import './models.css';

import { LabIcon } from '@jupyterlab/ui-components';
// The logo lives in the repository's top-level style/ folder (shared with the kernel spec).
import floeLogoSvg from '../../style/floe-logo.svg';

export const floeIcon = new LabIcon({ name: 'floe-jupyterlab:logo', svgstr: floeLogoSvg });

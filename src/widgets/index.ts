/** Jupyter widgets for resnet-ts notebooks: `import { widgets, interact } from 'resnet-ts'`. */
export {
  Layout,
  Style,
  DOMWidget,
  DescribedWidget,
  ValueWidget,
  IntSlider,
  FloatSlider,
  FloatLogSlider,
  Play,
  Checkbox,
  SelectionWidget,
  Dropdown,
  ToggleButtons,
  SelectionSlider,
  Button,
  Label,
  HTML,
  Box,
  HBox,
  VBox,
  Stack,
  Link,
  jslink,
  jsdlink,
} from './controls';
export type {
  LayoutOptions,
  DomOptions,
  DescriptionOptions,
  SliderOptions,
  LogSliderOptions,
  PlayOptions,
  CheckboxOptions,
  SelectionOptions,
  SelectionWidgetOptions,
  ToggleButtonsOptions,
  ButtonOptions,
  TextOptions,
  BoxOptions,
} from './controls';
export { Output } from './output';
export type { OutputRecord } from './output';
export { interact, Interactive, controlFor } from './interact';
export type { Abbreviation, AbbreviationValue, InteractArgs, InteractOptions } from './interact';
export { TrainingControls } from './training_controls';
export type { TrainingControlsOptions } from './training_controls';
export { Widget, openWidgets, WIDGET_PROTOCOL_VERSION, WIDGET_VIEW_MIME, WIDGET_STATE_MIME, MODULES } from './widget';
export type { ChangeEvent, Observer, WidgetState } from './widget';
export { commManager, Comm, CommManager } from './comm';
export type { CommTransport, CommMessage, CommData } from './comm';

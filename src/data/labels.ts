/** Fashion-MNIST's classes and image size: what a page showing predictions needs (browser-safe). */
export const TEXT_LABELS = [
  't-shirt',
  'trouser',
  'pullover',
  'dress',
  'coat',
  'sandal',
  'shirt',
  'sneaker',
  'bag',
  'ankle boot',
] as const;
export const NUM_CLASSES = 10;
export const IMAGE_SIZE = 28;

/** Text labels for numeric label ids (d2l's get_fashion_mnist_labels). */
export function getTextLabels(ids: ArrayLike<number> | Iterable<number>): string[] {
  return Array.from(ids as Iterable<number>, (i) => {
    const t = TEXT_LABELS[i];
    if (t === undefined) throw new RangeError(`label ${i} is not a Fashion-MNIST class id (0..9)`);
    return t;
  });
}

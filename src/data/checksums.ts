/**
 * Fashion-MNIST file names and the digests every copy is checked against.
 *
 * Checksums. The SHA-256 values of {@link FASHION_MNIST_SHA256} are those of the files shipped
 * by Debian package `dataset-fashion-mnist` (0.0~git20200523.55506a9-1). They are NOT the
 * checksums of the files on the zalando mirror: Debian's build (dh_strip_nondeterminism)
 * rewrote the gzip headers -- FNAME removed, MTIME set to the changelog date 2020-06-05
 * 09:05:49 UTC -- so each Debian file is 23-24 bytes shorter and hashes differently, while the
 * deflate stream and the decompressed IDX data are identical. Restoring the original header
 * (FLG=FNAME, MTIME 2017-08-31 10:50:06 UTC for train-*, 10:50:27 for t10k-*, the file name
 * without .gz) reproduces the upstream files exactly: their MD5s equal those published in
 * upstream's README and their SHA-256s equal {@link FASHION_MNIST_UPSTREAM_SHA256} (the values
 * other projects, e.g. Chainer, pin). Hence every file accepts two variants: Debian, or
 * upstream (SHA-256 + MD5). {@link FASHION_MNIST_IDX_SHA256} holds the SHA-256 of the
 * decompressed IDX data, the same for both variants (checked by `npm run data`).
 */

export const TRAIN_IMAGES = 'train-images-idx3-ubyte.gz';
export const TRAIN_LABELS = 'train-labels-idx1-ubyte.gz';
export const TEST_IMAGES = 't10k-images-idx3-ubyte.gz';
export const TEST_LABELS = 't10k-labels-idx1-ubyte.gz';
export const FASHION_MNIST_FILES = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS] as const;

export const DEFAULT_MIRROR = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';
export const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

/** One acceptable version of a file: every digest given must match. */
export interface FileDigest {
  sha256?: string;
  md5?: string;
  /** Where this version comes from (for messages). */
  variant?: string;
}
/** File name -> acceptable versions. The keys are the files a complete location must hold. */
export type HashTable = Readonly<Record<string, readonly FileDigest[]>>;

/** SHA-256 of the .gz files of Debian package dataset-fashion-mnist. */
export const FASHION_MNIST_SHA256: Readonly<Record<string, string>> = {
  [TEST_IMAGES]: 'cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa',
  [TEST_LABELS]: '8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05',
  [TRAIN_IMAGES]: 'b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7',
  [TRAIN_LABELS]: '0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056',
};
/** SHA-256 of the .gz files on the zalando mirror (see the module comment). */
export const FASHION_MNIST_UPSTREAM_SHA256: Readonly<Record<string, string>> = {
  [TRAIN_IMAGES]: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84',
  [TRAIN_LABELS]: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845',
  [TEST_IMAGES]: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073',
  [TEST_LABELS]: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5',
};
/** MD5 of the .gz files on the zalando mirror, as published in upstream's README.md. */
export const FASHION_MNIST_UPSTREAM_MD5: Readonly<Record<string, string>> = {
  [TRAIN_IMAGES]: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
  [TRAIN_LABELS]: '25c81989df183df01b3e8a0aad5dffbe',
  [TEST_IMAGES]: 'bef4ecab320f06d8554ea6380940ec79',
  [TEST_LABELS]: 'bb300cfdad3c16e7a12a480ee83cd310',
};
/** Sizes of the .gz files on the zalando mirror. */
export const FASHION_MNIST_UPSTREAM_SIZES: Readonly<Record<string, number>> = {
  [TRAIN_IMAGES]: 26421880,
  [TRAIN_LABELS]: 29515,
  [TEST_IMAGES]: 4422102,
  [TEST_LABELS]: 5148,
};
/** SHA-256 of the decompressed IDX files (the same for every gzip variant). */
export const FASHION_MNIST_IDX_SHA256: Readonly<Record<string, string>> = {
  [TRAIN_IMAGES]: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
  [TRAIN_LABELS]: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
  [TEST_IMAGES]: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
  [TEST_LABELS]: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
};

export const FASHION_MNIST_HASHES: HashTable = Object.fromEntries(
  FASHION_MNIST_FILES.map((f) => [
    f,
    [
      { sha256: FASHION_MNIST_SHA256[f], variant: 'Debian dataset-fashion-mnist' },
      { sha256: FASHION_MNIST_UPSTREAM_SHA256[f], md5: FASHION_MNIST_UPSTREAM_MD5[f], variant: 'zalando mirror' },
    ],
  ]),
);

export type FashionMnistSource = 'flag' | 'env' | 'cache' | 'debian' | 'download';
